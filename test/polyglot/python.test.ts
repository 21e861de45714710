/**
 * @module
 * The Python reference client (examples/python, standard library only) against a real mesh, through the shared
 * client test.
 */
import { PYTHON } from "../helpers/polyglot-builds.ts";
import { describeClient } from "../helpers/polyglot.ts";

describeClient({
  name: "the Python client",
  type: "py:step",
  skip: PYTHON.skip && `${PYTHON.skip} (${PYTHON.hint})`,
  command: () => ["python3", [PYTHON.script]],
});
