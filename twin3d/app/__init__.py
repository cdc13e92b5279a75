"""The twin3d browser viewer: trame + PyVista over the OpenUSD stage (see app/README.md)."""
