"""Sans-I/O RFC 6455 and RFC 7692: bytes in, events out; calls in, bytes out. No asyncio."""
