import * as command from "@pulumi/command";

/**
 * The stack's one command provider, declared with the Docker one before any
 * resource. Pulumi starts a provider's plugin when the provider is declared:
 * the default one came with the first command, which with keepImageOnDestroy
 * is the readiness probe, after the last container, so every `up` waited for
 * the plugin to start there. Declared first, it starts beside the others.
 */
export function commandProvider(name: string): command.Provider {
  return new command.Provider(name, {});
}
