"""A tiny, randomly initialised Llama model and its tokenizer, built locally in seconds.

No pretrained weights can be downloaded in tests, so the integration tests serve this
model with a real vLLM server. Its text is meaningless: only formats, the protocol and
the fallbacks can be tested with it. Structured output still yields valid JSON, because
the server constrains every token to the schema's grammar; the byte-level tokenizer can
spell any string, and it is trained on JSON punctuation and the words of Encore's schema
so that JSON takes few tokens; the prompt templates of ``prompts/`` are in its training
text too, so that a real prompt fits the server's context window.

Runs with any environment that has ``torch``, ``tokenizers`` and ``transformers``: the
project's own (``build_tiny_llm(folder)``) or vLLM's, as a script, which is how
``conftest.py`` uses it (the server then reads what its own ``transformers`` wrote)::

    .venv-vllm/bin/python tests/integration/tiny_llm.py /tmp/tiny-llm

Example (about 6 seconds, so not a doctest)::

    folder = build_tiny_llm(tmp_path / "tiny-llm")
    # config.json, generation_config.json, model.safetensors, tokenizer.json,
    # tokenizer_config.json, chat_template.jinja
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["CHAT_TEMPLATE", "SPECIAL_TOKENS", "build_tiny_llm"]

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = (BOS, EOS, PAD, "<|system|>", "<|user|>", "<|assistant|>")

# Roles become special tokens; the reply starts after "<|assistant|>".
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}{{ eos_token }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

# Words of Encore's request schema and of the test schemas, JSON punctuation and digits,
# plus everyday English, so that both prompts and JSON replies tokenize compactly.
_SCHEMA_WORDS = """
intent recommend search similar playlist trending details feedback chitchat query
media_types exclude_media_types movie series music album track podcast audiobook genres
exclude_genres tags exclude_tags moods light dark funny scary relaxing upbeat energetic sad
uplifting romantic cozy thought-provoking tense epic nostalgic quirky emotional atmospheric
focus sleep year_min year_max relative_year newer older min_minutes max_minutes
relative_duration shorter longer language titles text item_id role like not about score
reference_positions exclude_positions exclude_ids count playlist_minutes issues empty
truncated control_characters unsupported_language instructions_ignored null true false
name title year genre horror comedy drama thriller science fiction animation documentary
answer reason ok items label kind value colour color red green blue
"""

_JSON_SNIPPETS = """
{"intent": "recommend", "media_types": ["movie"], "genres": ["science fiction"], "year_min": 1990}
{"intent":"similar","titles":[{"text":"Arrival","item_id":"mv-arrival-2016","role":"like"}]}
{"query": "", "count": 5, "max_minutes": 120, "exclude_genres": ["horror"], "moods": []}
{"name": "tiny", "year": 2001, "ok": true, "score": 0.5, "items": [1, 2, 3], "kind": null}
[{"label": "a"}, {"label": "b"}] {} [] "" 0 1 2 3 4 5 6 7 8 9 10 42 100 1999 2024 -1 0.25
"""

_PROSE = """
Encore is a conversational recommender for films, series, music and podcasts. A person
says what they want, something like Arrival but shorter, no horror, and Encore suggests
titles from its catalog and explains each pick. You are a helpful assistant. Answer in
JSON that follows the schema. What should I watch tonight? Recommend a podcast for a
forty-minute drive. Play something upbeat for a run. Tell me about Dune. Not that one,
the second one. I loved Parasite and I hated Get Out. Ninety minutes at most, in French.
"""


PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


def _corpus() -> list[str]:
    lines = [ln for block in (_SCHEMA_WORDS, _JSON_SNIPPETS, _PROSE)
             for ln in block.strip().splitlines()]
    # The project's own prompt templates, so that a real prompt fits the context window.
    for path in sorted(PROMPTS_DIR.glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()
    # A few repetitions so that the frequent pieces of JSON become single tokens.
    return lines * 8


def build_tiny_llm(folder: str | Path, *, vocab_size: int = 2048, seed: int = 0) -> Path:
    """Write a tiny random Llama model and its tokenizer into ``folder``; return the folder.

    Args:
        folder: Where to write (created if missing). Holds ``config.json``, the weights as
            ``model.safetensors`` (under 1 MB) and the tokenizer files with a chat template.
        vocab_size: Upper bound on the BPE vocabulary; the model's ``vocab_size`` is set to
            the tokenizer's actual size, special tokens included.
        seed: Seeds the weights, so two builds are identical.

    Returns:
        The folder, ready for ``vllm serve FOLDER`` or ``AutoModelForCausalLM``.
    """
    # Heavy imports stay inside: importing this module costs nothing.
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_corpus(), trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=BOS, eos_token=EOS, pad_token=PAD,
        additional_special_tokens=list(SPECIAL_TOKENS[3:]), model_max_length=4096)
    tokenizer.chat_template = CHAT_TEMPLATE

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True, torch_dtype="bfloat16")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/integration/tiny_llm.py OUTPUT_FOLDER")
    print(build_tiny_llm(sys.argv[1]))
