"""A reply's Markdown cut into top-level blocks, the unit of incremental streaming render."""

from __future__ import annotations

from app.gui.markdown_blocks import Block, split_blocks

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
