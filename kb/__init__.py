"""The policy knowledge base: a plain library with no Rasa import.

Storage: models, db, schema, migrations, loader, exporter, queries, revisions, importer, xlsx.
Answering: kb/answering (parse a question, rank answer units, compose a reply), over one snapshot per revision.
Eligibility: kb/eligibility (facts, rules, engine, service, firm matching), with profile, rulebook and regions.
Layers import one way: models → queries → answering / eligibility; nothing here imports Rasa or bot/.
"""
