import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

/** Where the page loads the graph library from. */
export const CYTOSCAPE_PATH = "/assets/cytoscape.min.js";

let cytoscape: Promise<string> | undefined;

/**
 * The browser build of cytoscape, read once per process from the installed package (a
 * dependency of this one), so the page needs nothing from outside the control plane.
 */
export function cytoscapeScript(): Promise<string> {
  cytoscape ??= (async () => {
    let file: string;
    try {
      file = createRequire(import.meta.url).resolve("cytoscape/dist/cytoscape.min.js");
    } catch (e) {
      throw new Error(
        `the dashboard draws its service graph with cytoscape, which is not installed next to @weft/control-plane: ${String(e)}`,
      );
    }
    return readFile(file, "utf8");
  })();
  // A failed read is not remembered: the next start tries again.
  cytoscape.catch(() => {
    cytoscape = undefined;
  });
  return cytoscape;
}
