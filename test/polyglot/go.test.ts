/**
 * @module
 * The Go client (examples/go: nats.go 1.22.1's older JetStream API, built offline in GOPATH mode against
 * Debian's Go source tree) against a real mesh, through the shared client test.
 */
import { GO } from "../helpers/polyglot-builds.ts";
import { describeClient } from "../helpers/polyglot.ts";

describeClient({
  name: "the Go client",
  type: "go:step",
  skip: GO.skip && `${GO.skip} (${GO.hint})`,
  command: () => [GO.build(), []],
});
