"""Answering a question from the knowledge base: parse once, follow up, retrieve units, compose the reply.

`respond.respond` is the entry point; `question`, `followup`, `units`/`index`/`retrieval`, `compose`,
`verdict` and `reply` are its steps (README "How it answers").
"""
