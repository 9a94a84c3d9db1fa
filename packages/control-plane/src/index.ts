// Public API of @weft/control-plane: see README.md. Empty until its issue lands.
export {};
