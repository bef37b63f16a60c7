"""The gRPC layer: servicers that translate between protobuf and the core, nothing more."""
