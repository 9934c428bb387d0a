"""Textual front end for repopack (installed as repopack.tui): `repopack chat`.

Import `repopack.tui.factory.create_app` to build the app; nothing in the core imports
this package.
"""
