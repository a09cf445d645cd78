"""Pure helpers shared by packages that must not know each other (ocr/ and dialogs/): no I/O, no imports
of the project."""
