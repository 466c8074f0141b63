/** Thrown for bad input, before any resource is declared. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The project's config namespace, as users type it in `pulumi config set`. */
export const CONFIG_NAMESPACE = "flask-bridge";

export function configKey(key: string): string {
  return `${CONFIG_NAMESPACE}:${key}`;
}

/** One message shape for every bad value: the full key, the value, then why. */
export function invalid(key: string, value: unknown, reason: string): ConfigError {
  return new ConfigError(`Invalid config ${configKey(key)} = ${JSON.stringify(value)}: ${reason}`);
}
