"""Agent mode: the engine inside a cluster, serving hubs and probes — and the hub's side.

- `server`: the `atlhyper-agent` command (settings, Hypercorn on trio);
- `api`: the HTTP API (Starlette), authentication, limits, `/metrics`;
- `tokens`: bearer tokens with roles from a mounted Secret;
- `relay` and `journal`: what the agent remembers for hubs that come back;
- `protocol`: the documents and stream lines both sides read and write;
- `client`: the hub's source for a cluster reached through its agent.
"""
