"""A reply's Markdown cut into top-level blocks, the unit of incremental streaming render."""

from __future__ import annotations

from pathlib import Path

from app.gui.markdown_blocks import Block, BlockSplitter, split_blocks

REPLY = """# Reading a file

Open it with `open`,
then read it.

- one

- two
  still two

```python
def f():

    return 1
```

| a | b |
|---|---|
| 1 | 2 |

The end."""


def test_fences_paragraphs_lists_and_tables_are_blocks():
    assert split_blocks(REPLY) == [
        Block("prose", "# Reading a file"),
        Block("prose", "Open it with `open`,\nthen read it."),
        Block("prose", "- one\n\n- two\n  still two"),
        Block("code", "def f():\n\n    return 1", "python"),
        Block("prose", "| a | b |\n|---|---|\n| 1 | 2 |"),
        Block("prose", "The end."),
    ]


def test_while_streaming_only_the_last_block_is_open():
    blocks = split_blocks(REPLY, streaming=True)
    assert [block.closed for block in blocks] == [True] * 5 + [False]
    half_code = split_blocks("Here:\n\n~~~js\nlet a = 1;\nlet", streaming=True)
    assert half_code == [Block("prose", "Here:"), Block("code", "let a = 1;\nlet", "js", closed=False)]


def test_every_prefix_keeps_the_finished_blocks_of_the_whole():
    """What streamed earlier never changes a finished block: that is what lets the view lay each out once."""
    final = split_blocks(REPLY)
    for end in range(len(REPLY)):
        blocks = split_blocks(REPLY[:end], streaming=True)
        finished = [block for block in blocks if block.closed]
        assert finished == final[: len(finished)], REPLY[:end]


def test_an_unclosed_fence_in_a_stored_reply_is_code_to_the_end():
    assert split_blocks("Text\n```\nx = 1\ny = 2") == [Block("prose", "Text"), Block("code", "x = 1\ny = 2")]


def test_empty_and_blank_text_have_no_blocks():
    assert split_blocks("") == []
    assert split_blocks("\n\n  \n") == []


TRICKY = """Intro line
  indented continuation

1. first
2. second

   loose paragraph of the second

* star item
``` `not a fence`
```sh
echo one
```not closing
```
~~~~
a ~~~ inside
~~~
~~~~

````md
```
nested
```
````
| x | y |
|---|---|
| 1 | 2 |
- after the table

Last words.
"""


def stream_through(text: str, cuts: list[int]) -> BlockSplitter:
    """Feed `text` cut at `cuts` to one splitter, as a reply streams, checking each result against a full split."""
    splitter = BlockSplitter()
    for end in cuts:
        prefix = text[:end]
        assert splitter.split(prefix, streaming=True) == split_blocks(prefix, streaming=True), repr(prefix[-80:])
    assert splitter.split(text) == split_blocks(text)
    return splitter


def test_the_incremental_split_is_the_full_split_at_every_cut_of_tricky_markdown():
    """Fences of both kinds and lengths, a line that only looks like a fence, a closing fence with text after it,
    loose lists, indented continuations and a table followed by a list, cut after every character."""
    for text in (TRICKY, REPLY):
        splitter = stream_through(text, list(range(len(text) + 1)))  # it compares each cut with the full split
        assert 0 < splitter.settled_length < len(text)  # part of the text was kept, not split again


def test_the_incremental_split_is_the_full_split_over_a_real_document():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme.count("```") >= 4 and "\n|" in readme and "\n- " in readme
    splitter = stream_through(readme, list(range(0, len(readme), 53)))
    assert splitter.settled_length > len(readme) * 0.9  # the settled part grew with the text: not split again


def test_the_settled_part_is_not_split_again():
    splitter = BlockSplitter()
    splitter.split("One.\n\nTwo.\n\n```py\nx = 1\n```\nThree", streaming=True)
    assert splitter.settled_length == len("One.\n\nTwo.\n\n```py\nx = 1\n```\n")
    splitter.split("One.\n\nTwo.\n\nThree", streaming=True)  # not what streamed: split whole, nothing kept
    assert splitter.settled_length == len("One.\n\n")


def test_a_text_that_differs_from_what_streamed_is_split_whole():
    splitter = BlockSplitter()
    splitter.split("Para one.\n\n```py\nx = 1\n```\nmore", streaming=True)
    stored = "Para one, edited.\n\n```py\nx = 2\n```\n"
    assert splitter.split(stored) == split_blocks(stored)
