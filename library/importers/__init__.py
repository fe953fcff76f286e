"""Importers for the forum's existing archives. Each one parses a file into ParsedItem rows;
`run_import` writes them in one transaction, idempotently (an item is found again by its
file name and position), and reports created / updated / unchanged / problems."""
