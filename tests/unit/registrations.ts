/** A registration as the engine receives it: its parent and aliases, which the mocks' newResource never sees. */
export interface Registered {
  type: string;
  name: string;
  parent: string;
  aliases: { name: string; type: string; parent: string }[];
  inputs: Record<string, unknown>;
  deleteBeforeReplace: boolean;
}

/**
 * Records every resource registration the mock monitor receives. Call it on a
 * fresh module registry (after jest.resetModules()), before @pulumi/pulumi is
 * loaded and setMocks runs; jest.restoreAllMocks() ends it.
 */
export function recordRegistrations(): Registered[] {
  const registered: Registered[] = [];
  const mocks = require("@pulumi/pulumi/runtime/mocks");
  const register = mocks.MockMonitor.prototype.registerResource;
  jest.spyOn(mocks.MockMonitor.prototype, "registerResource").mockImplementation(function (
    this: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: a RegisterResourceRequest from Pulumi's generated protobuf code.
    req: any,
    callback: unknown,
  ) {
    registered.push({
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      // biome-ignore lint/suspicious/noExplicitAny: an Alias from the same generated code.
      aliases: req.getAliasesList().map((alias: any) => ({
        name: alias.getSpec()?.getName() ?? "",
        type: alias.getSpec()?.getType() ?? "",
        parent: alias.getSpec()?.getParenturn() ?? "",
      })),
      inputs: req.getObject().toJavaScript(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
    });
    return register.call(this, req, callback);
  });
  return registered;
}
