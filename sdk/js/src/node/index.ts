export { FileClientState } from "./file-state.js";
