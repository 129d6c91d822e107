"""Wire-protocol codecs: one module per protocol, both directions."""

from lip.protocols.codec import Codec, StreamDecoder, StreamEncoder

__all__ = ["Codec", "StreamDecoder", "StreamEncoder"]
