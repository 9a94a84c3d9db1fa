// Public API of @weft/inprocess: see README.md. Empty until its issue lands.
export {};
