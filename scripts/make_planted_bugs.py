"""Make the planted-bug corpus: realistic wrong (and correct alternative) student answers.

    python scripts/make_planted_bugs.py            # writes tests/planted/<notebook>.json
    python scripts/make_planted_bugs.py --check    # fails if the committed corpus is stale

Each *bug* takes one answer cell of a solution notebook, as a student who solved it
would hand it in, and changes one thing so that it breaks one rule the notebook's text
states (the ``rule`` field says which; where ``MESSAGES`` gives one, the ``message`` field
holds text the visible test's message must contain). Each *alternative* is a correct answer
written in another style than the solution. ``tests/test_planted_bugs.py`` runs them all in the
student's view and in the grader's and checks that every point the grader takes off a
code exercise was shown failing by a visible test first, and that the alternatives keep
full marks.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import nbformat  # noqa: E402

OUT_DIR = REPO_ROOT / "tests" / "planted"
#: The assignment (folder of solutions/ and notebooks/) of each notebook with planted bugs.
ASSIGNMENT = {
    "01_tokens_to_vectors": "part1_representations",
    "02_self_attention": "part1_representations",
    "03_sequence_representations": "part1_representations",
    "04_masked_lm_pretraining": "part2_pretraining",
    "05_finetuning": "part3_adaptation",
    "06_context_tasks": "part3_adaptation",
}

# (id, grade_id of the answer cell, the rule it breaks, text in the solution, replacement)
BUGS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "01_tokens_to_vectors": [
        ("wordpiece_shortest_first", "ex_wordpiece", "greedy, longest match first",
         "        end = len(word)\n        while end > start:                      # longest candidate first\n",
         "        end = start + 1\n        while end <= len(word):\n"),
        ("wordpiece_shortest_first", "ex_wordpiece", "", "            end -= 1\n", "            end += 1\n"),
        ("wordpiece_no_hash", "ex_wordpiece", "pieces that continue a word are looked up with '##'",
         'piece = word[start:end] if start == 0 else "##" + word[start:end]', "piece = word[start:end]"),
        ("wordpiece_hash_first", "ex_wordpiece", "the piece that starts a word has no '##'",
         'piece = word[start:end] if start == 0 else "##" + word[start:end]',
         'piece = "##" + word[start:end] if start == 0 else word[start:end]'),
        ("wordpiece_partial_unk", "ex_wordpiece", "no fit at some position: the whole word is [UNK]",
         "        else:                                   # nothing fits at `start`\n            return [unk_token]\n",
         "        else:                                   # nothing fits: mark this character unknown\n"
         "            pieces.append(unk_token)\n            start += 1\n            continue\n"),
        ("wordpiece_no_max_chars", "ex_wordpiece", "a word longer than max_chars becomes [UNK]",
         "    if len(word) > max_chars:\n        return [unk_token]\n", ""),
        ("wordpiece_max_chars_off_by_one", "ex_wordpiece", "a word of exactly max_chars characters is split",
         "if len(word) > max_chars:", "if len(word) >= max_chars:"),
        ("wordpiece_fixed_unk", "ex_wordpiece", "return [unk_token], the argument",
         "            return [unk_token]\n", '            return ["[UNK]"]\n'),
        ("wordpiece_empty_unk", "ex_wordpiece", "an empty word gives an empty list",
         "    pieces = []\n", "    if not word:\n        return [unk_token]\n    pieces = []\n"),
        ("encode_no_sep", "ex_encode", "ids are framed by [CLS] and [SEP]",
         '    ids.append(vocab["[SEP]"])\n', ""),
        ("encode_drops_unk", "ex_encode", "[UNK] is a piece like any other: vocab['[UNK]']",
         "ids.extend(vocab[piece] for piece in wordpiece(word, vocab))",
         'ids.extend(vocab[piece] for piece in wordpiece(word, vocab) if piece != "[UNK]")'),
        ("encode_whitespace_split", "ex_encode", "words come from basic_tokenize(text)",
         "for word in basic_tokenize(text):", "for word in text.lower().split():"),
        ("encode_numpy_ints", "ex_encode", "a list of Python ints",
         "    return ids\n", "    return list(torch.tensor(ids))\n"),
        ("encode_calls_the_tokenizer", "ex_encode", "split with your wordpiece, not the course tokenizer's encode",
         "    ids = [vocab[\"[CLS]\"]]\n", "    return tok.encode(text)\n    ids = [vocab[\"[CLS]\"]]\n"),
        ("pad_mask_from_ids", "ex_pad_batch", "the mask comes from the lengths, not from ids == pad_id",
         "    return input_ids, attention_mask\n",
         "    attention_mask = (input_ids != pad_id).long()\n    return input_ids, attention_mask\n"),
        ("pad_on_the_left", "ex_pad_batch", "rows are padded on the right",
         "        input_ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)\n"
         "        attention_mask[row, :len(seq)] = 1\n",
         "        input_ids[row, longest - len(seq):] = torch.tensor(seq, dtype=torch.long)\n"
         "        attention_mask[row, longest - len(seq):] = 1\n"),
        ("pad_float_mask", "ex_pad_batch", "both tensors are torch.long",
         "attention_mask = torch.zeros((len(sequences), longest), dtype=torch.long)",
         "attention_mask = torch.zeros((len(sequences), longest))"),
        ("pad_with_zero", "ex_pad_batch", "pad with pad_id",
         "input_ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)",
         "input_ids = torch.zeros((len(sequences), longest), dtype=torch.long)"),
        ("layer_norm_unbiased", "ex_layer_norm", "the biased variance (divide by d)",
         "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)"),
        ("layer_norm_library", "ex_layer_norm", "torch's layer_norm is not allowed",
         "    return (x - mean) / torch.sqrt(var + eps) * weight + bias\n",
         "    return torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)\n"),
        ("layer_norm_eps_outside", "ex_layer_norm", "eps inside the square root",
         "torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)"),
        ("layer_norm_fixed_eps", "ex_layer_norm", "use the eps argument",
         "torch.sqrt(var + eps)", "torch.sqrt(var + 1e-12)"),
        ("layer_norm_first_dim", "ex_layer_norm", "normalise over the last dimension",
         "    mean = x.mean(dim=-1, keepdim=True)                           # (..., 1)\n"
         "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)            # (..., 1), biased\n",
         "    mean = x.mean(dim=0, keepdim=True)\n    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)\n"),
        ("embed_positions_from_1", "ex_embed", "positions count from 0",
         "positions = torch.arange(seq, device=input_ids.device)",
         "positions = torch.arange(1, seq + 1, device=input_ids.device)"),
        ("embed_positions_across_batch", "ex_embed", "positions restart at 0 in every row",
         "positions = torch.arange(seq, device=input_ids.device)          # (seq,)",
         "positions = torch.arange(input_ids.numel()).view(input_ids.shape)"),
        ("embed_no_segment", "ex_embed", "add the segment row of token_type_ids",
         " + type_table[token_type_ids]", ""),
        ("embed_library_layer_norm", "ex_embed", "apply your layer_norm (torch's is not allowed)",
         "    return layer_norm(x, ln_weight, ln_bias, eps)\n",
         "    return torch.nn.functional.layer_norm(x, x.shape[-1:], ln_weight, ln_bias, eps)\n"),
        ("embed_no_layer_norm", "ex_embed", "h0 = LayerNorm(sum of the three rows)",
         "    return layer_norm(x, ln_weight, ln_bias, eps)\n", "    return x\n"),
    ],
    "02_self_attention": [
        ("softmax_unstable", "ex_softmax", "stable for large inputs",
         "    shifted = x - x.amax(dim=dim, keepdim=True)\n", "    shifted = x\n"),
        ("softmax_library", "ex_softmax", "torch's softmax is not allowed",
         "    return exps / exps.sum(dim=dim, keepdim=True)\n", "    return torch.softmax(x, dim=dim)\n"),
        ("softmax_last_dim_only", "ex_softmax", "use the dim argument",
         "    shifted = x - x.amax(dim=dim, keepdim=True)\n    exps = torch.exp(shifted)\n"
         "    return exps / exps.sum(dim=dim, keepdim=True)\n",
         "    shifted = x - x.amax(dim=-1, keepdim=True)\n    exps = torch.exp(shifted)\n"
         "    return exps / exps.sum(dim=-1, keepdim=True)\n"),
        ("attention_no_scale", "ex_attention", "scores are divided by sqrt(d_k)",
         "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)", "scores = q @ k.transpose(-2, -1)"),
        ("attention_masks_queries", "ex_attention", "the mask masks keys (columns), not queries",
         "padding = attention_mask[:, None, None, :] == 0", "padding = attention_mask[:, None, :, None] == 0"),
        ("attention_minus_inf", "ex_attention", "torch.finfo(dtype).min, not -inf",
         "torch.finfo(scores.dtype).min)", 'float("-inf"))'),
        ("attention_library", "ex_attention", "use your softmax (torch's is not allowed)",
         "weights = softmax(scores, dim=-1)", "weights = torch.softmax(scores, dim=-1)"),
        ("attention_softmax_over_queries", "ex_attention", "the softmax runs over the keys",
         "weights = softmax(scores, dim=-1)", "weights = softmax(scores, dim=-2)"),
        ("attention_needs_mask", "ex_attention", "attention_mask may be None",
         "    if attention_mask is not None:\n", "    if True:\n"),
        ("attention_additive_int_mask", "ex_attention", "the mask may hold True/False",
         "        padding = attention_mask[:, None, None, :] == 0                   # (batch, 1, 1, seq)\n"
         "        scores = scores.masked_fill(padding, torch.finfo(scores.dtype).min)\n",
         "        scores = scores + (1 - attention_mask[:, None, None, :]) * torch.finfo(scores.dtype).min\n"),
        ("heads_no_value_error", "ex_heads", "a ValueError when d is not divisible by num_heads",
         "    if d % num_heads:\n        raise ValueError(f\"d = {d} is not divisible by num_heads = {num_heads}\")\n", ""),
        ("heads_assert", "ex_heads", "a ValueError when d is not divisible by num_heads",
         "    if d % num_heads:\n        raise ValueError(f\"d = {d} is not divisible by num_heads = {num_heads}\")\n",
         "    assert d % num_heads == 0, \"d must be divisible by num_heads\"\n"),
        ("heads_interleaved", "ex_heads", "head h holds columns h*head_dim:(h+1)*head_dim",
         "return x.view(batch, seq, num_heads, d // num_heads).transpose(1, 2)",
         "return x.view(batch, seq, d // num_heads, num_heads).permute(0, 3, 1, 2)"),
        ("heads_no_transpose", "ex_heads", "(batch, seq, H, d_k) -> swap seq and H",
         "return x.view(batch, seq, num_heads, d // num_heads).transpose(1, 2)",
         "return x.reshape(batch, num_heads, seq, d // num_heads)"),
        ("merge_no_transpose", "ex_heads", "merging undoes splitting",
         "return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)",
         "return x.reshape(batch, seq, heads * head_dim)"),
        ("mha_kqv_order", "ex_mha", "the fused rows are [query; key; value]",
         "q, k, v = qkv.chunk(3, dim=-1)", "k, q, v = qkv.chunk(3, dim=-1)"),
        ("mha_ignores_mask", "ex_mha", "pass the padding mask on",
         "scaled_dot_product_attention(q, k, v, attention_mask)", "scaled_dot_product_attention(q, k, v)"),
        ("mha_fixed_heads", "ex_mha", "use num_heads",
         "split_heads(t, num_heads)", "split_heads(t, 12)"),
        ("mha_no_out_bias", "ex_mha", "the output projection is out_weight and out_bias",
         "@ out_weight.T + out_bias", "@ out_weight.T"),
        ("mha_library_softmax", "ex_mha", "torch's softmax and attention are not allowed",
         "    context, weights = scaled_dot_product_attention(q, k, v, attention_mask)\n",
         "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
         "    if attention_mask is not None:\n"
         "        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, -1e9)\n"
         "    weights = torch.softmax(scores, dim=-1)\n    context = weights @ v\n"),
        ("entropy_nan_for_zeros", "ex_entropy", "0 log 0 = 0",
         "-torch.special.xlogy(weights, weights).sum(dim=-1)", "-(weights * weights.log()).sum(dim=-1)"),
        ("entropy_all_rows", "ex_entropy", "rows of padding queries are ignored",
         "    return (row_entropy * real).sum(dim=(0, 2)) / real.sum()             # (heads,)\n",
         "    return row_entropy.mean(dim=(0, 2))\n"),
        ("entropy_per_sentence", "ex_entropy", "every real query of the batch counts once",
         "    return (row_entropy * real).sum(dim=(0, 2)) / real.sum()             # (heads,)\n",
         "    return ((row_entropy * real).sum(dim=2) / real.sum(dim=2)).mean(dim=0)\n"),
        ("entropy_bits", "ex_entropy", "entropy in nats",
         "-torch.special.xlogy(weights, weights).sum(dim=-1)",
         "-torch.special.xlogy(weights, weights).sum(dim=-1) / math.log(2)"),
    ],
    "03_sequence_representations": [
        ("ffn_tanh_gelu", "ex_feed_forward", "the exact GELU, not approximate='tanh'",
         "F.gelu(self.up(a))", 'F.gelu(self.up(a), approximate="tanh")'),
        ("ffn_relu", "ex_feed_forward", "FFN(a) = GELU(a W1 + b1) W2 + b2",
         "F.gelu(self.up(a))", "F.relu(self.up(a))"),
        ("ffn_other_names", "ex_feed_forward", "store the maps as self.up and self.down",
         "        self.up = nn.Linear(", "        self.fc1 = nn.Linear("),
        ("ffn_other_names", "ex_feed_forward", "", "F.gelu(self.up(a))", "F.gelu(self.fc1(a))"),
        ("ffn_fixed_sizes", "ex_feed_forward", "use the sizes of the config",
         "        self.up = nn.Linear(config.hidden_size, config.intermediate_size)",
         "        self.up = nn.Linear(384, 1536)"),
        ("ffn_fixed_sizes", "ex_feed_forward", "",
         "        self.down = nn.Linear(config.intermediate_size, config.hidden_size)",
         "        self.down = nn.Linear(1536, 384)"),
        ("ffn_reference_forward", "ex_feed_forward", "write the FFN yourself",
         "        return self.down(F.gelu(self.up(a)))      # (batch, seq, d_ff) in between\n",
         "        return FeedForward.forward(self, a)\n"),
        ("layer_pre_ln", "ex_encoder_layer", "post-LN: LayerNorm after the residual",
         "        attended, _ = self.attention(h, key_mask)                   # (batch, seq, d)\n"
         "        a = self.attention_norm(h + self.dropout(attended))         # residual, then LayerNorm\n"
         "        return self.ffn_norm(a + self.dropout(self.ffn(a)))         # (batch, seq, d)\n",
         "        attended, _ = self.attention(self.attention_norm(h), key_mask)\n"
         "        a = h + attended\n        return a + self.ffn(self.ffn_norm(a))\n"),
        ("layer_ignores_mask", "ex_encoder_layer", "pass key_mask on to the attention",
         "self.attention(h, key_mask)", "self.attention(h)"),
        ("layer_returns_pair", "ex_encoder_layer", "return only the hidden states",
         "        return self.ffn_norm(a + self.dropout(self.ffn(a)))         # (batch, seq, d)\n",
         "        return self.ffn_norm(a + self.dropout(self.ffn(a))), None\n"),
        ("layer_no_ffn_residual", "ex_encoder_layer", "H' = LayerNorm(A + FFN(A))",
         "self.ffn_norm(a + self.dropout(self.ffn(a)))", "self.ffn_norm(self.dropout(self.ffn(a)))"),
        ("layer_default_eps", "ex_encoder_layer", "LayerNorm(d, eps=config.layer_norm_eps)",
         "self.attention_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)", "self.attention_norm = nn.LayerNorm(d)"),
        ("layer_default_eps", "ex_encoder_layer", "",
         "self.ffn_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)", "self.ffn_norm = nn.LayerNorm(d)"),
        ("layer_ffn_of_h", "ex_encoder_layer", "H' = LayerNorm(A + FFN(A)): the FFN reads A",
         "self.ffn_norm(a + self.dropout(self.ffn(a)))", "self.ffn_norm(a + self.dropout(self.ffn(h)))"),
        ("layer_reference_forward", "ex_encoder_layer", "write the layer yourself",
         "        attended, _ = self.attention(h, key_mask)                   # (batch, seq, d)\n"
         "        a = self.attention_norm(h + self.dropout(attended))         # residual, then LayerNorm\n"
         "        return self.ffn_norm(a + self.dropout(self.ffn(a)))         # (batch, seq, d)\n",
         "        return EncoderLayer.forward(self, h, key_mask)[0]\n"),
        ("encoder_mask_not_reshaped", "ex_encoder", "key_mask has shape (batch, 1, 1, seq)",
         "key_mask = attention_mask.bool()[:, None, None, :]", "key_mask = attention_mask.bool()"),
        ("encoder_mask_not_bool", "ex_encoder", "key_mask is a boolean tensor",
         "key_mask = attention_mask.bool()[:, None, None, :]", "key_mask = attention_mask[:, None, None, :]"),
        ("encoder_no_h0", "ex_encoder", "return [H^0, ..., H^L]",
         "        hidden_states = [h]\n", "        hidden_states = []\n"),
        ("encoder_fixed_layers", "ex_encoder", "config.num_layers layers",
         "for _ in range(config.num_layers)", "for _ in range(6)"),
        ("encoder_needs_mask", "ex_encoder", "attention_mask may be None",
         "        key_mask = None\n        if attention_mask is not None:\n"
         "            key_mask = attention_mask.bool()[:, None, None, :]     # (batch, 1, 1, seq)\n",
         "        key_mask = attention_mask.bool()[:, None, None, :]\n"),
        ("load_key_query_value", "ex_load_weights", "qkv rows are [query; key; value]",
         'for p in ("query", "key", "value")', 'for p in ("key", "query", "value")'),
        ("load_from_file_not_state", "ex_load_weights", "copy from the given state",
         "    emb = model.embeddings\n", "    state = bert_state_dict()\n    emb = model.embeddings\n"),
        ("load_library", "ex_load_weights", "write the mapping yourself",
         "    emb = model.embeddings\n",
         "    from encoder_lib.model.weights import load_bert_weights\n"
         "    load_bert_weights(model, state)\n    return model\n    emb = model.embeddings\n"),
        ("load_every_state_key", "ex_load_weights", "skip what your encoder does not use (pooler, position_ids)",
         "        for name, param in targets.items():\n            if name not in state:\n"
         "                raise KeyError(f\"the weights have no tensor named {name!r}\")\n"
         "            param.copy_(state[name])\n",
         "        for name, tensor in state.items():\n            if \".attention.self.\" not in name:\n"
         "                targets[name].copy_(tensor)\n"),
        ("load_no_return", "ex_load_weights", "return the model", "    return model\n", ""),
        ("load_del_skipped", "ex_load_weights", "a state may or may not hold the tensors to skip",
         "    emb = model.embeddings\n",
         "    for skipped in (\"pooler.dense.weight\", \"pooler.dense.bias\", \"embeddings.position_ids\"):\n"
         "        del state[skipped]\n    emb = model.embeddings\n"),
        ("load_expects_skipped", "ex_load_weights", "a state may or may not hold the tensors to skip",
         "    emb = model.embeddings\n",
         "    pooler = (state[\"pooler.dense.weight\"], state[\"pooler.dense.bias\"])   # not used by MyEncoder\n"
         "    emb = model.embeddings\n"),
        ("h_fox_embeddings", "quiz_1_code", "H is the last hidden state H^L",
         '[-1][0]     # (5, d)', '[0][0]'),
        ("h_fox_batch_dim", "quiz_1_code", "without the batch dimension",
         '[-1][0]     # (5, d)', '[-1]'),
        ("word_vectors_no_single_token_check", "ex_word_vectors", "ValueError if word is not a single token",
         "    if len(pieces) != 1:\n", "    if not pieces:\n"),
        ("word_vectors_ignores_encode", "ex_word_vectors", "use the encode you are given",
         "    hidden_states = encode(batch[", "    hidden_states = reference_encode(batch["),
        ("word_vectors_no_cls", "ex_word_vectors", "positions count [CLS]",
         "    i = tokens.index(pieces[0])\n", "    i = tok.tokenize(sentence).index(pieces[0])\n"),
        ("word_vectors_last", "ex_word_vectors", "the first position where the word occurs",
         "    i = tokens.index(pieces[0])\n", "    i = len(tokens) - 1 - tokens[::-1].index(pieces[0])\n"),
        ("context_similarity_dot", "ex_context_similarity", "the cosine divides by both lengths",
         "(u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))", "(u * v).sum(-1) / u.norm(dim=-1) ** 2"),
        ("context_similarity_ignores_encode", "ex_context_similarity", "pass encode on to word_vectors",
         "    u = word_vectors(sentence_a, word, encode)", "    u = word_vectors(sentence_a, word)"),
        ("context_similarity_ignores_encode", "ex_context_similarity", "",
         "    v = word_vectors(sentence_b, word, encode)", "    v = word_vectors(sentence_b, word)"),
        ("similarity_matrix_one_side", "ex_similarity_matrix", "normalise the rows of both matrices",
         "    return A_unit @ B_unit.T                           # (n, m)\n", "    return A_unit @ B.T\n"),
        ("similarity_matrix_columns", "ex_similarity_matrix", "normalise the rows (vectors), not the columns",
         "A / A.norm(dim=-1, keepdim=True)", "A / A.norm(dim=0, keepdim=True)"),
        ("separation_per_group", "ex_sense_separation", "same-sense pairs pooled into one mean",
         "    same = [context_similarity(s, t, word, encode)\n"
         "            for group in (sentences_a, sentences_b) for s, t in combinations(group, 2)]\n",
         "    same_a = torch.stack([context_similarity(s, t, word, encode) for s, t in combinations(sentences_a, 2)])\n"
         "    same_b = torch.stack([context_similarity(s, t, word, encode) for s, t in combinations(sentences_b, 2)])\n"
         "    same = [(same_a.mean(0) + same_b.mean(0)) / 2]\n"),
        ("separation_reversed", "ex_sense_separation", "same-sense minus different-sense",
         "torch.stack(same).mean(0) - torch.stack(different).mean(0)",
         "torch.stack(different).mean(0) - torch.stack(same).mean(0)"),
    ],
}

# Correct answers in another style: (id, grade_id, the whole answer cell).
ALTERNATIVES: dict[str, list[tuple[str, str, str]]] = {
    "01_tokens_to_vectors": [
        ("wordpiece_for_loop", "ex_wordpiece", '''\
def wordpiece(word, vocab, unk_token="[UNK]", max_chars=100):
    if len(word) > max_chars:
        return [unk_token]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            candidate = ("##" if start else "") + word[start:end]
            if candidate in vocab:
                pieces.append(candidate)
                start = end
                break
        else:
            return [unk_token]
    return pieces'''),
        ("encode_comprehension", "ex_encode", '''\
def encode(text, vocab):
    pieces = [p for w in basic_tokenize(text) for p in wordpiece(w, vocab)]
    return [vocab[t] for t in ["[CLS]", *pieces, "[SEP]"]]'''),
        ("pad_batch_pad_sequence", "ex_pad_batch", '''\
from torch.nn.utils.rnn import pad_sequence

def pad_batch(sequences, pad_id):
    rows = [torch.tensor(s, dtype=torch.long) for s in sequences]
    ids = pad_sequence(rows, batch_first=True, padding_value=pad_id)
    lengths = torch.tensor([len(s) for s in sequences])
    mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()
    return ids, mask'''),
        ("layer_norm_rsqrt", "ex_layer_norm", '''\
def layer_norm(x, weight, bias, eps=1e-12):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
    return weight * (x - mean) * torch.rsqrt(var + eps) + bias'''),
        ("embed_f_embedding", "ex_embed", '''\
import torch.nn.functional as F

def embed(input_ids, token_type_ids, word_table, position_table, type_table, ln_weight, ln_bias, eps=1e-12):
    positions = torch.arange(input_ids.shape[1]).expand_as(input_ids)
    x = (F.embedding(input_ids, word_table) + F.embedding(positions, position_table)
         + F.embedding(token_type_ids, type_table))
    return layer_norm(x, ln_weight, ln_bias, eps)'''),
    ],
    "02_self_attention": [
        ("softmax_logsumexp", "ex_softmax", '''\
def softmax(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))'''),
        ("attention_einsum", "ex_attention", '''\
def scaled_dot_product_attention(q, k, v, attention_mask=None):
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / q.shape[-1] ** 0.5
    if attention_mask is not None:
        keep = attention_mask.bool().view(attention_mask.shape[0], 1, 1, -1)
        scores = torch.where(keep, scores, torch.tensor(torch.finfo(scores.dtype).min))
    weights = softmax(scores)
    return torch.einsum("bhqk,bhkd->bhqd", weights, v), weights'''),
        ("heads_unflatten", "ex_heads", '''\
def split_heads(x, num_heads):
    if x.shape[-1] % num_heads != 0:
        raise ValueError(f"cannot split {x.shape[-1]} dimensions into {num_heads} heads")
    return x.unflatten(-1, (num_heads, -1)).permute(0, 2, 1, 3)


def merge_heads(x):
    return x.permute(0, 2, 1, 3).flatten(2)'''),
        ("mha_f_linear", "ex_mha", '''\
import torch.nn.functional as F

def multi_head_self_attention(x, attention_mask, qkv_weight, qkv_bias, out_weight, out_bias, num_heads):
    d = x.shape[-1]
    projected = F.linear(x, qkv_weight, qkv_bias)
    q, k, v = (split_heads(projected[..., i * d:(i + 1) * d], num_heads) for i in range(3))
    context, weights = scaled_dot_product_attention(q, k, v, attention_mask)
    return F.linear(merge_heads(context), out_weight, out_bias), weights'''),
        ("entropy_where", "ex_entropy", '''\
def attention_entropy(weights, attention_mask):
    logs = torch.where(weights > 0, weights.log(), torch.zeros_like(weights))
    rows = -(weights * logs).sum(-1)                    # (batch, heads, seq)
    real = attention_mask.bool()
    return torch.stack([rows[:, h][real].mean() for h in range(rows.shape[1])])'''),
    ],
    "03_sequence_representations": [
        ("ffn_functional", "ex_feed_forward", '''\
class MyFeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, a):
        hidden = F.linear(a, self.up.weight, self.up.bias)
        return F.linear(F.gelu(hidden, approximate="none"), self.down.weight, self.down.bias)'''),
        ("layer_no_dropout", "ex_encoder_layer", '''\
class MyEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = MyFeedForward(config)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, h, key_mask=None):
        out = self.attention(h, key_mask)[0]
        h = self.attention_norm(out + h)
        return self.ffn_norm(self.ffn(h) + h)'''),
        ("encoder_unsqueeze", "ex_encoder", '''\
class MyEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(MyEncoderLayer(config) for _ in range(config.num_layers))

    def forward(self, input_ids, attention_mask=None):
        mask = None if attention_mask is None else attention_mask.unsqueeze(1).unsqueeze(2).to(torch.bool)
        states = [self.embeddings(input_ids)]
        for layer in self.layers:
            states.append(layer(states[-1], mask))
        return states'''),
        ("load_mapped_state_dict", "ex_load_weights", '''\
def load_bert_weights_into(model, state):
    names = {"embeddings.LayerNorm": "embeddings.layer_norm", "attention.output.dense": "attention.out",
             "attention.output.LayerNorm": "attention_norm", "intermediate.dense": "ffn.up",
             "output.dense": "ffn.down", "output.LayerNorm": "ffn_norm"}
    mapped = {}
    for name, tensor in state.items():
        if name.startswith("pooler.") or name == "embeddings.position_ids" or ".attention.self." in name:
            continue
        new = name.replace("encoder.layer.", "layers.")
        for old_part, new_part in names.items():
            if f".{old_part}." in f".{new}":
                new = f".{new}".replace(f".{old_part}.", f".{new_part}.")[1:]
                break
        mapped[new] = tensor
    for i in range(len(model.layers)):
        for kind in ("weight", "bias"):
            mapped[f"layers.{i}.attention.qkv.{kind}"] = torch.cat(
                [state[f"encoder.layer.{i}.attention.self.{p}.{kind}"] for p in ("query", "key", "value")])
    model.load_state_dict(mapped)
    return model'''),
        ("h_fox_last_state", "quiz_1_code", '''\
H_fox = None
fox = tok("The quick fox")
H_fox = my_encoder(fox["input_ids"])[len(my_encoder.layers)].squeeze(0)
print(tok.convert_ids_to_tokens(tok.encode("The quick fox")), tuple(H_fox.shape))'''),
        ("word_vectors_nonzero", "ex_word_vectors", '''\
def word_vectors(sentence, word, encode=reference_encode):
    if len(tok.tokenize(word)) != 1:
        raise ValueError(f"{word!r} is not one token")
    batch = tok(sentence)
    hits = (batch["input_ids"][0] == tok.convert_tokens_to_ids(tok.tokenize(word)[0])).nonzero()
    if len(hits) == 0:
        raise ValueError(f"{word!r} is not in {sentence!r}")
    states = encode(batch["input_ids"], batch["attention_mask"])
    return torch.cat([h[:, int(hits[0])] for h in states])'''),
        ("context_similarity_f_cosine", "ex_context_similarity", '''\
def context_similarity(sentence_a, sentence_b, word, encode=reference_encode):
    return F.cosine_similarity(word_vectors(sentence_a, word, encode), word_vectors(sentence_b, word, encode), dim=1)'''),
        ("similarity_matrix_normalize", "ex_similarity_matrix", '''\
def similarity_matrix(A, B):
    return F.normalize(A, dim=1) @ F.normalize(B, dim=1).T'''),
        ("separation_running_sums", "ex_sense_separation", '''\
from itertools import combinations


def sense_separation(sentences_a, sentences_b, word, encode=reference_encode):
    same_total, same_count = 0, 0
    for group in (sentences_a, sentences_b):
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                same_total = same_total + context_similarity(group[i], group[j], word, encode)
                same_count += 1
    different = torch.stack([context_similarity(a, b, word, encode) for a in sentences_a for b in sentences_b])
    return same_total / same_count - different.mean(0)'''),
    ],
}


# notebooks 04-06 keep their tables in a file of their own
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import planted_bugs_04_06  # noqa: E402

BUGS.update(planted_bugs_04_06.BUGS)
ALTERNATIVES.update(planted_bugs_04_06.ALTERNATIVES)
#: {notebook: {bug id: text the visible test's message must contain (it names the rule)}}
MESSAGES: dict[str, dict[str, str]] = {nb: dict(m) for nb, m in planted_bugs_04_06.MESSAGES.items()}
MESSAGES["01_tokens_to_vectors"] = {"encode_calls_the_tokenizer": "do not call WordPieceTokenizer.encode"}
MESSAGES["03_sequence_representations"] = {
    "layer_default_eps": "eps=config.layer_norm_eps",
    "layer_ignores_mask": "pass key_mask on to the attention",
    "layer_ffn_of_h": "H' = LayerNorm(A + FFN(A))",
    "layer_no_ffn_residual": "H' = LayerNorm(A + FFN(A))",
    "layer_pre_ln": "H' = LayerNorm(A + FFN(A))",
    "load_del_skipped": "a state may or may not hold the tensors to skip",
    "load_expects_skipped": "a state may or may not hold the tensors to skip",
}
# a token that starts where the span ends (test_span's visible ',' case)
BUGS["06_context_tasks"] = BUGS["06_context_tasks"] + [
    ("span_start_at_end", "ex_span", "overlap is strict: a < end (a token starting at the span end is out)",
     "if b > a and a < end and b > start]", "if b > a and a <= end and b > start]"),
]
MESSAGES["06_context_tasks"]["span_start_at_end"] = "a token that starts where the span ends"


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def student_source(source: str) -> str:
    """An answer cell as a student who solved it hands it in: no solution markers."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")) + "\n"


def corpus(notebook: str) -> dict:
    """The variants of one notebook, made from its solution."""
    nb = nbformat.read(REPO_ROOT / "solutions" / ASSIGNMENT[notebook] / f"{notebook}.ipynb", as_version=4)
    answers = {_grade_id(c): student_source(c.source) for c in nb.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    variants: dict[str, dict] = {}
    for vid, gid, rule, old, new in BUGS[notebook]:
        variant = variants.setdefault(vid, {"id": vid, "kind": "bug", "grade_id": gid, "rule": rule,
                                            "source": answers[gid]})
        if variant["grade_id"] != gid:
            raise SystemExit(f"{notebook}: bug {vid} changes two cells")
        if variant["source"].count(old) != 1:
            raise SystemExit(f"{notebook}: bug {vid}: the text to change occurs "
                             f"{variant['source'].count(old)} times in {gid} (the solution changed?):\n{old}")
        variant["source"] = variant["source"].replace(old, new)
    for vid, message in MESSAGES.get(notebook, {}).items():
        if vid not in variants or variants[vid]["kind"] != "bug":
            raise SystemExit(f"{notebook}: a message for {vid}, which is no bug")
        variants[vid]["message"] = message
    for vid, gid, source in ALTERNATIVES[notebook]:
        if gid not in answers:
            raise SystemExit(f"{notebook}: alternative {vid}: no answer cell {gid}")
        variants[vid] = {"id": vid, "kind": "alternative", "grade_id": gid, "rule": "",
                         "source": source + "\n"}
    return {"assignment": ASSIGNMENT[notebook], "notebook": notebook, "variants": list(variants.values())}


def render(notebook: str) -> str:
    return json.dumps(corpus(notebook), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed corpus is stale")
    args = parser.parse_args(argv)
    stale = []
    for notebook in BUGS:
        path = OUT_DIR / f"{notebook}.json"
        text = render(notebook)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(REPO_ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    if stale:
        print("stale planted-bug corpus (run python scripts/make_planted_bugs.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
