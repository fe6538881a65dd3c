"""One module per client; each has ``async def run(p: Params) -> dict`` and imports only its
own library, so a worker process holds nothing but the client it measures."""
