"""Crosswire's server side: the translation/segmentation/alignment core and its gRPC layer.

The core modules never import grpc; only `crosswire_server.rpc` and
`crosswire_server.app` speak protobuf and gRPC.
"""
