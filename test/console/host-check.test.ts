/**
 * @module
 * DNS rebinding: the console answers only to the loopback names and the configured ones, whatever port.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { loadConfig } from "../../services/console/config.ts";
import { hostAllowed, hostName } from "../../services/console/host-check.ts";

it("allows 127.0.0.1, localhost, [::1] and configured names, with or without a port; nothing else", () => {
  for (const h of ["127.0.0.1:9104", "localhost", "LOCALHOST:1", "[::1]:9104", "[::1]"])
    assert.ok(hostAllowed(h, []), h);
  for (const h of [
    undefined,
    "",
    "evil.example",
    "evil.example:9104",
    "localhost.",
    "127.0.0.1.nip.io",
    "::1",
  ])
    assert.ok(!hostAllowed(h, []), String(h));
  assert.ok(hostAllowed("console.internal:443", ["console.internal"]));
  assert.equal(hostName("Console.Internal:80"), "console.internal");
});

it("JETBUS_CONSOLE_HOSTS takes host names only", () => {
  assert.deepEqual(loadConfig({ JETBUS_CONSOLE_HOSTS: "jetbus-console, Console.Example.com" }).hosts, [
    "jetbus-console",
    "console.example.com",
  ]);
  assert.throws(() => loadConfig({ JETBUS_CONSOLE_HOSTS: "http://x:80" }), /JETBUS_CONSOLE_HOSTS/);
});
