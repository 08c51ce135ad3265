"""Chat templates: how an instruct model sees stimuli, probes and in-context stimuli.

One scheme for every chat-templated causal LM, so fine-tuning, reading and prompting put
a fact in the same place: **the assistant states it, in reply to a fixed request**.

- a statement ``Text(t)`` trains as ``user: "Tell me a fact." / assistant: t``, with the
  loss on the statement's tokens only (not on the template, the request or the
  end-of-turn token, which every stimulus shares);
- a probe ``Example(prompt, completion)`` is read as the assistant's reply to the same
  request: the assistant turn holds ``prompt``, and the read-out counts exactly the
  completion's tokens after it (prompt and completion tokenized on their own, as without
  a template);
- in context, the stimulus is an earlier exchange of the same form (the request, and the
  stimulus as the assistant's answer), so in-context and fine-tuned differ only in where
  the fact is: in the conversation or in the weights. The neutral control context of
  matched length goes in the same place.

A system prompt (``system=...``) opens every sequence. The bank's prompts are sentence
prefixes ("A wug is a kind of"), not questions: as a user message they would make the
read-out measure the surprise of a fragment-shaped reply rather than the fact, which is
why the prompt sits in the assistant's turn.
"""

from __future__ import annotations

from typing import Any

from eifbench.errors import InputError

FACT_REQUEST = "Tell me a fact."


class ChatFormat:
    """A tokenizer's chat template applied to the scheme above.

    Args:
        tokenizer: a tokenizer whose ``chat_template`` is set.
        system: an optional system prompt opening every sequence.
        request: the user's turn before every stated fact.

    Raises:
        InputError: the template renders nothing, fails, or adds no assistant prefix
            (``add_generation_prompt`` has no effect), so a reply has no start to read from.

    """

    def __init__(self, tokenizer: Any, *, system: str | None = None, request: str = FACT_REQUEST) -> None:
        self.tokenizer = tokenizer
        self.system = system
        self.request = request
        self._prefixes: dict[str | None, tuple[int, ...]] = {}
        closed = self._render(self._messages(None), generation_prompt=False)
        opened = self._render(self._messages(None), generation_prompt=True)
        if opened == closed or not opened.startswith(closed):
            raise InputError(
                "The tokenizer's chat template adds no assistant prefix for add_generation_prompt=True, so a "
                "reply has no start to read from; load the model with chat_template=off."
            )

    def _messages(self, context: str | None) -> list[dict[str, str]]:
        turns = [{"role": "system", "content": self.system}] if self.system else []
        if context is not None:
            turns += [{"role": "user", "content": self.request}, {"role": "assistant", "content": context}]
        return [*turns, {"role": "user", "content": self.request}]

    def _render(self, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
        try:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
        except Exception as error:  # jinja raises TemplateError, templates raise their own exceptions
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            hint = " (does the template take a system message? drop system=...)" if self.system else ""
            raise InputError(
                f"The tokenizer's chat template failed: {first}{hint}; or load with chat_template=off."
            ) from None
        if not isinstance(text, str) or not text:
            raise InputError("The tokenizer's chat template rendered nothing; load the model with chat_template=off.")
        return text

    def assistant_prefix(self, context: str | None = None) -> list[int]:
        """Token ids of everything before the assistant's reply (template, system, request).

        Args:
            context: an earlier assistant answer (the in-context stimulus), or None.

        Returns:
            The ids, ending with the template's assistant prefix; the reply's own tokens follow.

        """
        if context not in self._prefixes:
            text = self._render(self._messages(context), generation_prompt=True)
            self._prefixes[context] = tuple(self.tokenizer(text, add_special_tokens=False).input_ids)
        return list(self._prefixes[context])

    def reply_ids(self, text: str) -> list[int]:
        """Tokens of a piece of the assistant's reply, without special tokens."""
        return list(self.tokenizer(text, add_special_tokens=False).input_ids)
