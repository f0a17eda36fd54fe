"""Remote operations: one command path for every cluster, however it is reached.

- `commands`: what a user asks (``Command``) and what came of it (``Outcome``);
- `actions`: each operation against the API server, with its errors in words;
- `preview`: what a command will change, before it runs;
- `runner`: the Hub's command path — safety checks, idempotency, the agent route, audit;
- `console`: the kubectl-style console's parser.
"""
