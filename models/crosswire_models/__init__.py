"""Crosswire's model management: the registry of known models, fetch, import and the installed-models store.

A models folder holds one sub-folder per installed model, each with a CTranslate2
model, its SentencePiece model(s) and a small manifest (`crosswire.json`).
"""
