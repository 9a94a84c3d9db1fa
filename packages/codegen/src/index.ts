// Public API of @weft/codegen: see README.md. Empty until its issue lands.
export {};
