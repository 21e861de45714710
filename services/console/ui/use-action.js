// An operator action: runs it, keeps the server's refusal (or the outcome) for the view to show.
import { useState } from "preact/hooks";

export function useAction() {
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const run = async (fn, describe) => {
    setError(null);
    setNotice(null);
    try {
      const out = await fn();
      if (describe) setNotice(describe(out));
      return out;
    } catch (e) {
      setError(e);
      return undefined;
    }
  };
  return { run, error, notice };
}
