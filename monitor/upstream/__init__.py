"""Everything that speaks HTTP to providers, shared by the probe and the router.

dialects (request shapes per provider), client (the shared connection pool), exchange (the SSE
parser and the timing of one request), classify (status and transport failures), redact (keys).
"""
