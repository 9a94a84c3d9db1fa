// Public API of @weft/sidecar: see README.md. Empty until its issue lands.
export {};
