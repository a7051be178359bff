"""The services directory (docs/DIRECTORY.md): service offers of assets, the budget question, HSDS publishing."""
