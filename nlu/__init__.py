"""Understanding free text: what a person wants (intent) and the values they gave (slots).

`understand(text, today, categories)` reads a chat message the way people type it, Chinese first
and English, with the values found anywhere in the sentence: `报个销，上周五请客户吃饭 860`,
`昨天打车花了35块5`, `有什么要我审批的`. The knowledge is data (lexicon.toml: concepts, typos,
category words, intent weights); the code segments (jieba), finds values (entities.py) and adds
up weights (understand.py). Pure functions: no database, no network, no model download.
"""

from nlu.understand import Categories, Understanding, understand

__all__ = ["Categories", "Understanding", "understand"]
