/**
 * @module
 * The C client (examples/c: libnats 3.4.1 and jansson from Debian, built with pkg-config) against a real mesh,
 * through the shared client test.
 */
import { C } from "../helpers/polyglot-builds.ts";
import { describeClient } from "../helpers/polyglot.ts";

describeClient({
  name: "the C client",
  type: "c:step",
  skip: C.skip && `${C.skip} (${C.hint})`,
  command: () => [C.build(), []],
});
