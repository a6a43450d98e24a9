"""Planted bugs and alternative answers of notebooks 04-06 (parts 2 and 3).

The tables of ``scripts/make_planted_bugs.py`` for the notebooks with training cells:
BUGS holds (id, grade_id of the answer cell, the rule it breaks, text in the solution,
replacement), ALTERNATIVES holds (id, grade_id, the whole answer cell).
"""
from __future__ import annotations

_MASK_RANDOM = "    random_ids = torch.randint(vocab_size, shape, generator=generator)\n"
_STEP_CLIP = ("    scaler.unscale_(optimizer)\n"
              "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n")

BUGS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "04_masked_lm_pretraining": [
        ("mask_specials_chosen", "ex_mask_tokens", "[CLS], [SEP] and [PAD] are never chosen",
         "    chosen &= ~special_tokens_mask.bool()\n", ""),
        ("mask_fixed_probability", "ex_mask_tokens", "each real token is chosen with probability mlm_probability",
         "torch.rand(shape, generator=generator) < mlm_probability", "torch.rand(shape, generator=generator) < 0.15"),
        ("mask_all_to_mask", "ex_mask_tokens", "80 % [MASK], 10 % a random token, 10 % unchanged",
         "    masked[chosen & (kind < 0.8)] = mask_token_id\n", "    masked[chosen] = mask_token_id\n"),
        ("mask_random_instead_of_kept", "ex_mask_tokens", "80 % [MASK], 10 % a random token, 10 % unchanged",
         "use_random = chosen & (kind >= 0.8) & (kind < 0.9)", "use_random = chosen & (kind >= 0.8)"),
        ("mask_random_everywhere", "ex_mask_tokens", "positions that were not chosen keep their token",
         "use_random = chosen & (kind >= 0.8) & (kind < 0.9)", "use_random = (kind >= 0.8) & (kind < 0.9)"),
        ("mask_random_skips_low_ids", "ex_mask_tokens",
         "a random replacement is drawn uniformly from 0 .. vocab_size - 1",
         _MASK_RANDOM, "    random_ids = torch.randint(999, vocab_size, shape, generator=generator)  # skip [unused]\n"),
        ("mask_random_never_last_id", "ex_mask_tokens",
         "a random replacement is drawn uniformly from 0 .. vocab_size - 1",
         _MASK_RANDOM, "    random_ids = torch.randint(vocab_size - 1, shape, generator=generator)\n"),
        ("mask_labels_of_changed_only", "ex_mask_tokens",
         "labels hold the original id at every chosen position, also the ones left unchanged",
         "    return masked, labels\n",
         "    labels = torch.where(masked != input_ids, input_ids, torch.full_like(input_ids, -100))\n"
         "    return masked, labels\n"),
        ("mask_labels_zero", "ex_mask_tokens", "labels are -100 everywhere else",
         "torch.where(chosen, input_ids, torch.full_like(input_ids, -100))",
         "torch.where(chosen, input_ids, torch.zeros_like(input_ids))"),
        ("mask_labels_after_masking", "ex_mask_tokens", "labels hold the original id",
         "    return masked, labels\n",
         "    labels = torch.where(chosen, masked, torch.full_like(input_ids, -100))\n    return masked, labels\n"),
        ("mask_in_place", "ex_mask_tokens", "do not modify input_ids (work on a copy)",
         "    masked = input_ids.clone()\n", "    masked = input_ids\n"),
        ("mask_no_generator", "ex_mask_tokens", "draw every random number from generator",
         "    kind = torch.rand(shape, generator=generator)  ", "    kind = torch.rand(shape)  "),
        ("mask_float_labels", "ex_mask_tokens", "labels are torch.long",
         "torch.where(chosen, input_ids, torch.full_like(input_ids, -100))",
         "torch.where(chosen, input_ids.float(), torch.tensor(-100.0))"),
        ("head_project_all_rows", "ex_head", "gather the chosen rows before the projection",
         "    h = H[rows]                                                      # (n_chosen, d)\n"
         "    h = head.layer_norm(head.act(head.dense(h)))                     # (n_chosen, d)\n"
         "    logits = h @ head.word_embeddings.weight.T + head.bias           # (n_chosen, V)\n",
         "    h = head.layer_norm(head.act(head.dense(H)))\n"
         "    logits = (h @ head.word_embeddings.weight.T + head.bias)[rows]\n"),
        ("head_no_transform", "ex_head", "apply the transform (dense, GELU, LayerNorm) before the projection",
         "    h = head.layer_norm(head.act(head.dense(h)))                     # (n_chosen, d)\n", ""),
        ("head_no_layer_norm", "ex_head", "the transform ends with LayerNorm",
         "head.layer_norm(head.act(head.dense(h)))", "head.act(head.dense(h))"),
        ("head_no_bias", "ex_head", "add head.bias",
         "head.word_embeddings.weight.T + head.bias", "head.word_embeddings.weight.T"),
        ("head_untied_copy", "ex_head", "W_o is tied to the embeddings: read head.word_embeddings.weight at every call",
         "    rows = labels != -100                                            # (batch, seq) bool\n",
         "    global W_o\n    if \"W_o\" not in globals():                    # the output matrix, made once\n"
         "        W_o = head.word_embeddings.weight.detach().T.clone()\n"
         "    rows = labels != -100                                            # (batch, seq) bool\n"),
        ("head_untied_copy", "ex_head", "", "h @ head.word_embeddings.weight.T + head.bias", "h @ W_o + head.bias"),
        ("head_stack_rows", "ex_head", "logits is (n_chosen, V), also when no position is chosen",
         "    h = H[rows]  ", "    h = torch.stack([H[b, i] for b, i in rows.nonzero().tolist()])  "),
        ("head_label_zero_dropped", "ex_head", "gather the rows whose label is not -100",
         "    rows = labels != -100  ", "    rows = labels > 0  "),
        ("head_position_major", "ex_head", "rows in order: batch by batch, position by position",
         "    h = H[rows]  ", "    h = H.transpose(0, 1)[rows.T]  "),
        ("head_position_major", "ex_head", "", "    return logits, labels[rows]\n", "    return logits, labels.T[rows.T]\n"),
        ("head_probabilities", "ex_head", "logits are the scores before the softmax",
         "    return logits, labels[rows]\n", "    return logits.softmax(dim=-1), labels[rows]\n"),
        ("head_calls_head", "ex_head", "do not call head(...)",
         "    h = head.layer_norm(head.act(head.dense(h)))                     # (n_chosen, d)\n"
         "    logits = h @ head.word_embeddings.weight.T + head.bias           # (n_chosen, V)\n",
         "    logits = head(h)\n"),
        ("head_all_labels", "ex_head", "targets are the labels of the gathered rows",
         "    return logits, labels[rows]\n", "    return logits, labels\n"),
        ("loss_all_positions", "ex_loss", "positions labelled -100 have no influence",
         "    keep = labels != -100\n", "    keep = labels != -100\n    labels = labels.clamp(min=0)\n"
         "    keep = torch.ones_like(keep)\n"),
        ("loss_mean_over_all", "ex_loss", "the mean over the positions whose label is not -100",
         "    return (torch.logsumexp(logits, dim=-1) - picked).mean()\n",
         "    return (torch.logsumexp(logits, dim=-1) - picked).sum() / keep.numel()\n"),
        ("loss_unstable", "ex_loss", "use torch.logsumexp, which does not overflow",
         "torch.logsumexp(logits, dim=-1)", "torch.log(torch.exp(logits).sum(dim=-1))"),
        ("loss_library", "ex_loss", "F.cross_entropy is not allowed",
         "    return (torch.logsumexp(logits, dim=-1) - picked).mean()\n",
         "    return F.cross_entropy(logits, labels)\n"),
        ("loss_no_mean", "ex_loss", "a 0-dim tensor: take the mean",
         "    return (torch.logsumexp(logits, dim=-1) - picked).mean()\n",
         "    return torch.logsumexp(logits, dim=-1) - picked\n"),
        ("loss_three_dims_only", "ex_loss", "logits may be (n_chosen, V) or (batch, seq, V)",
         "    logits = logits.reshape(-1, logits.shape[-1]).float()          # (positions, V)\n",
         "    logits = logits.flatten(0, 1).float()\n"),
        ("step_no_zero_grad", "ex_step", "clear the gradients left by the previous step",
         "    optimizer.zero_grad(set_to_none=True)\n", ""),
        ("step_zero_grad_late", "ex_step", "clear the gradients before the backward pass",
         "    optimizer.zero_grad(set_to_none=True)\n", ""),
        ("step_zero_grad_late", "ex_step", "", "    scaler.step(optimizer)\n",
         "    optimizer.zero_grad()\n    scaler.step(optimizer)\n"),
        ("step_no_autocast", "ex_step", "run the forward pass inside `with policy.autocast():`",
         "    with policy.autocast():\n        loss = model(", "    if True:\n        loss = model("),
        ("step_unscaled_backward", "ex_step", "backpropagate the scaled loss",
         "    scaler.scale(loss).backward()\n", "    loss.backward()\n"),
        ("step_no_unscale", "ex_step", "unscale the gradients before clipping",
         _STEP_CLIP, "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n"),
        ("step_clip_before_unscale", "ex_step", "unscale the gradients, then clip",
         _STEP_CLIP, "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n"
                     "    scaler.unscale_(optimizer)\n"),
        ("step_fixed_clip", "ex_step", "clip the gradient norm to max_grad_norm",
         "clip_grad_norm_(model.parameters(), max_grad_norm)", "clip_grad_norm_(model.parameters(), 1.0)"),
        ("step_no_clip", "ex_step", "clip the gradient norm to max_grad_norm",
         "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n", ""),
        ("step_optimizer_step", "ex_step", "scaler.step(optimizer), then scaler.update()",
         "    scaler.step(optimizer)\n", "    optimizer.step()\n"),
        ("step_no_update", "ex_step", "scaler.step(optimizer), then scaler.update()",
         "    scaler.update()\n", ""),
        ("step_returns_tensor", "ex_step", "return the loss as a Python float",
         "    return loss.item()\n", "    return loss\n"),
        ("step_returns_scaled_loss", "ex_step", "return the batch's loss (not the scaled one)",
         "    scaler.scale(loss).backward()\n", "    loss = scaler.scale(loss)\n    loss.backward()\n"),
    ],
    "05_finetuning": [
        ("classifier_copies_encoder", "ex_classifier", "keep the encoder you are given as self.encoder",
         "        self.encoder = encoder\n", "        self.encoder = copy.deepcopy(encoder)\n"),
        ("classifier_fixed_width", "ex_classifier", "the head is nn.Linear(d, num_labels), d = hidden_size",
         "nn.Linear(encoder.config.hidden_size, num_labels)", "nn.Linear(384, num_labels)"),
        ("classifier_head_name", "ex_classifier", "create the head as self.head",
         "        self.head = nn.Linear(", "        self.classifier = nn.Linear("),
        ("classifier_head_name", "ex_classifier", "", "return self.head(H[:, 0])", "return self.classifier(H[:, 0])"),
        ("classifier_no_bias", "ex_classifier", "logits = h_0 W + b: the head has a bias b",
         "nn.Linear(encoder.config.hidden_size, num_labels)",
         "nn.Linear(encoder.config.hidden_size, num_labels, bias=False)"),
        ("classifier_head_in_forward", "ex_classifier", "the head is a new layer with its own parameters, made once",
         "        self.head = nn.Linear(encoder.config.hidden_size, num_labels)     # W: d -> K, b: K\n",
         "        self.num_labels = num_labels\n"),
        ("classifier_head_in_forward", "ex_classifier", "",
         "        return self.head(H[:, 0])  ",
         "        self.head = nn.Linear(H.shape[-1], self.num_labels)\n        return self.head(H[:, 0])  "),
        ("classifier_no_mask", "ex_classifier", "run the encoder with its attention mask",
         "self.encoder(input_ids, attention_mask=attention_mask)", "self.encoder(input_ids)"),
        ("classifier_mask_required", "ex_classifier", "attention_mask is optional: forward(input_ids, attention_mask=None)",
         "    def forward(self, input_ids, attention_mask=None):", "    def forward(self, input_ids, attention_mask):"),
        ("classifier_mean_pool", "ex_classifier", "the head reads h_0 = H[:, 0]",
         "return self.head(H[:, 0])", "return self.head(H.mean(dim=1))"),
        ("classifier_sep_row", "ex_classifier", "the head reads h_0 = H[:, 0]",
         "return self.head(H[:, 0])", "return self.head(H[:, -1])"),
        ("classifier_softmax", "ex_classifier", "no softmax: return the logits",
         "return self.head(H[:, 0])", "return self.head(H[:, 0]).softmax(dim=-1)"),
        ("classifier_embeddings", "ex_classifier", "h_0 of the last hidden state",
         "self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state",
         "self.encoder(input_ids, attention_mask=attention_mask).hidden_states[0]"),
        ("ft_step_no_train_mode", "ex_step", "put the model in training mode", "    model.train()\n", ""),
        ("ft_step_no_zero_grad", "ex_step", "clear the gradients of the previous step",
         "    optimizer.zero_grad()\n", ""),
        ("ft_step_zero_grad_late", "ex_step", "zero_grad before the forward pass and backward",
         "    optimizer.zero_grad()\n", ""),
        ("ft_step_zero_grad_late", "ex_step", "", "    scaler.step(optimizer)\n",
         "    optimizer.zero_grad()\n    scaler.step(optimizer)\n"),
        ("ft_step_no_autocast", "ex_step", "compute the logits inside `with precision.autocast():`",
         "    with precision.autocast():\n        logits = model(", "    if True:\n        logits = model("),
        ("ft_step_loss_outside_autocast", "ex_step", "compute the loss inside `with precision.autocast():` too",
         '        loss = F.cross_entropy(logits.float(), batch["labels"])  ',
         '    loss = F.cross_entropy(logits.float(), batch["labels"])  '),
        ("ft_step_sum_loss", "ex_step", "the loss is the mean over the batch",
         'F.cross_entropy(logits.float(), batch["labels"])',
         'F.cross_entropy(logits.float(), batch["labels"], reduction="sum")'),
        ("ft_step_softmax_loss", "ex_step", "F.cross_entropy takes the logits",
         'F.cross_entropy(logits.float(), batch["labels"])',
         'F.cross_entropy(logits.float().softmax(dim=-1), batch["labels"])'),
        ("ft_step_unscaled_backward", "ex_step", "back-propagate the scaled loss",
         "    scaler.scale(loss).backward()\n", "    loss.backward()\n"),
        ("ft_step_optimizer_step", "ex_step", "update with scaler.step(optimizer)",
         "    scaler.step(optimizer)\n", "    optimizer.step()\n"),
        ("ft_step_no_update", "ex_step", "then scaler.update()", "    scaler.update()\n", ""),
        ("ft_step_returns_tensor", "ex_step", "return the loss as a Python float",
         "    return loss.item()\n", "    return loss\n"),
        ("ft_step_loss_after_update", "ex_step", "return the loss computed before the update",
         "    return loss.item()\n",
         '    with torch.no_grad():\n        loss = F.cross_entropy(model(batch["input_ids"], '
         'batch["attention_mask"]).float(), batch["labels"])\n    return loss.item()\n'),
        ("ft_step_twice", "ex_step", "exactly one backward pass and one optimizer step",
         "    scaler.update()\n", "    scaler.update()\n    scaler.step(optimizer)\n"),
        ("freeze_module_attribute", "ex_freeze", "every encoder parameter gets requires_grad = False",
         "    for p in model.encoder.parameters():\n        p.requires_grad_(False)\n",
         "    model.encoder.requires_grad = False\n"),
        ("freeze_eval_mode", "ex_freeze", "every encoder parameter gets requires_grad = False",
         "    for p in model.encoder.parameters():\n        p.requires_grad_(False)\n", "    model.encoder.eval()\n"),
        ("freeze_everything", "ex_freeze", "the head stays trainable",
         "    for p in model.encoder.parameters():", "    for p in model.parameters():"),
        ("freeze_first_layers_only", "ex_freeze", "every parameter of model.encoder is frozen",
         "    for p in model.encoder.parameters():", "    for p in model.encoder.layers.parameters():"),
        ("freeze_returns_generator", "ex_freeze", "return a list of the trainable parameters",
         "    return [p for p in model.parameters() if p.requires_grad]\n",
         "    return (p for p in model.parameters() if p.requires_grad)\n"),
        ("freeze_returns_all", "ex_freeze", "return the parameters still trainable",
         "    return [p for p in model.parameters() if p.requires_grad]\n", "    return list(model.parameters())\n"),
        ("freeze_returns_names", "ex_freeze", "return the parameters (not their names)",
         "    return [p for p in model.parameters() if p.requires_grad]\n",
         "    return [n for n, p in model.named_parameters() if p.requires_grad]\n"),
        ("freeze_returns_weight_and_bias", "ex_freeze", "return every trainable parameter of the head",
         "    return [p for p in model.parameters() if p.requires_grad]\n",
         "    return [model.head.weight, model.head.bias]\n"),
        ("freeze_resets_head", "ex_freeze", "no parameter value changes",
         "    return [p for p in model.parameters() if p.requires_grad]\n",
         "    model.head.reset_parameters()                  # a fresh head for the probe\n"
         "    return [p for p in model.parameters() if p.requires_grad]\n"),
        ("change_one_group", "ex_relative_change", "one group per layer: 'embeddings', 'layers.<i>'",
         '"embeddings" if parts[0] == "embeddings" else ".".join(parts[:2])', "parts[0]"),
        ("change_group_per_module", "ex_relative_change", "one group per layer: 'embeddings', 'layers.<i>'",
         '"embeddings" if parts[0] == "embeddings" else ".".join(parts[:2])', '".".join(parts[:2])'),
        ("change_sorted_groups", "ex_relative_change", "groups in the order their first parameter appears",
         "    return {g: (diff2[g] / norm2[g]) ** 0.5 for g in diff2}\n",
         "    return {g: (diff2[g] / norm2[g]) ** 0.5 for g in sorted(diff2)}\n"),
        ("change_mean_of_tensors", "ex_relative_change", "all tensors of a group form one vector",
         "        diff2[group] = diff2.get(group, 0.0) + (after[name].double() - b.double()).pow(2).sum().item()\n"
         "        norm2[group] = norm2.get(group, 0.0) + b.double().pow(2).sum().item()\n"
         "    return {g: (diff2[g] / norm2[g]) ** 0.5 for g in diff2}\n",
         "        ratio = ((after[name] - b).norm() / b.norm().clamp_min(1e-12)).item()\n"
         "        diff2.setdefault(group, []).append(ratio)\n"
         "    return {g: sum(r) / len(r) for g, r in diff2.items()}\n"),
        ("change_sum_of_norms", "ex_relative_change", "the norm of the whole group: sqrt of the summed squares",
         "        diff2[group] = diff2.get(group, 0.0) + (after[name].double() - b.double()).pow(2).sum().item()\n"
         "        norm2[group] = norm2.get(group, 0.0) + b.double().pow(2).sum().item()\n"
         "    return {g: (diff2[g] / norm2[g]) ** 0.5 for g in diff2}\n",
         "        diff2[group] = diff2.get(group, 0.0) + (after[name] - b).norm().item()\n"
         "        norm2[group] = norm2.get(group, 0.0) + b.norm().item()\n"
         "    return {g: diff2[g] / norm2[g] for g in diff2}\n"),
        ("change_groupby", "ex_relative_change", "every name that starts with 'embeddings.' goes into one group",
         "    diff2, norm2 = {}, {}\n    for name, b in before.items():\n"
         "        parts = name.split(\".\")\n"
         "        group = \"embeddings\" if parts[0] == \"embeddings\" else \".\".join(parts[:2])\n"
         "        diff2[group] = diff2.get(group, 0.0) + (after[name].double() - b.double()).pow(2).sum().item()\n"
         "        norm2[group] = norm2.get(group, 0.0) + b.double().pow(2).sum().item()\n"
         "    return {g: (diff2[g] / norm2[g]) ** 0.5 for g in diff2}\n",
         "    from itertools import groupby\n\n"
         "    def group_of(item):\n"
         "        name = item[0]\n"
         "        return \"embeddings\" if name.startswith(\"embeddings.\") else \".\".join(name.split(\".\")[:2])\n\n"
         "    out = {}\n"
         "    for group, items in groupby(before.items(), key=group_of):\n"
         "        items = list(items)\n"
         "        diff = sum((after[n].double() - b.double()).pow(2).sum().item() for n, b in items)\n"
         "        norm = sum(b.double().pow(2).sum().item() for _, b in items)\n"
         "        out[group] = (diff / norm) ** 0.5\n"
         "    return out\n"),
        ("change_no_sqrt", "ex_relative_change", "the relative change of the norms (a square root)",
         "(diff2[g] / norm2[g]) ** 0.5", "diff2[g] / norm2[g]"),
        ("change_relative_to_after", "ex_relative_change", "divide by the norm of theta_before",
         "b.double().pow(2).sum().item()", "after[name].double().pow(2).sum().item()"),
        ("change_tensor_values", "ex_relative_change", "a Python float per group",
         "(after[name].double() - b.double()).pow(2).sum().item()", "(after[name].double() - b.double()).pow(2).sum()"),
        ("change_tensor_values", "ex_relative_change", "", "b.double().pow(2).sum().item()", "b.double().pow(2).sum()"),
    ],
    "06_context_tasks": [
        ("span_contained_only", "ex_span", "a token belongs when it overlaps the span (partly is enough)",
         "if b > a and a < end and b > start]", "if b > a and a >= start and b <= end]"),
        ("span_touching", "ex_span", "overlap is strict: a < end and b > start",
         "if b > a and a < end and b > start]", "if b > a and a <= end and b >= start]"),
        ("span_touching_start", "ex_span", "(0, 0) entries never belong to a span",
         "if b > a and a < end and b > start]", "if a < end and b >= start]"),
        ("span_first_piece_only", "ex_span", "all the pieces of a split word belong to the span",
         "    return positions\n", "    return positions[:1]\n"),
        ("span_tensor", "ex_span", "return a list of int positions",
         "    return positions\n", "    return torch.tensor(positions)\n"),
        ("span_empty_list", "ex_span", "no token overlaps: raise ValueError",
         "    if not positions:\n        raise ValueError(", "    if False:\n        raise ValueError("),
        ("span_index_error", "ex_span", "no token overlaps: raise ValueError",
         "        raise ValueError(f\"no token", "        raise IndexError(f\"no token"),
        ("span_range", "ex_span", "positions in increasing order, as a list",
         "    return positions\n", "    return range(positions[0], positions[-1] + 1)\n"),
        ("pair_order", "ex_pair", "[u; v; |u - v|; u * v] in that order",
         "torch.cat([u, v, (u - v).abs(), u * v], dim=-1)", "torch.cat([u, v, u * v, (u - v).abs()], dim=-1)"),
        ("pair_no_abs", "ex_pair", "|u - v|, the absolute difference",
         "torch.cat([u, v, (u - v).abs(), u * v], dim=-1)", "torch.cat([u, v, u - v, u * v], dim=-1)"),
        ("pair_stack", "ex_pair", "a (batch, 4 d) tensor",
         "torch.cat([u, v, (u - v).abs(), u * v], dim=-1)", "torch.stack([u, v, (u - v).abs(), u * v], dim=1)"),
        ("pair_batch_one", "ex_pair", "any batch size and any d",
         "torch.cat([u, v, (u - v).abs(), u * v], dim=-1)",
         "torch.cat([u, v, (u - v).abs(), u * v], dim=-1).view(1, -1)"),
        ("pair_no_shape_check", "ex_pair", "u and v of different shapes: raise ValueError",
         "    if u.shape != v.shape:\n        raise ValueError(f\"u and v must have the same shape, got "
         "{tuple(u.shape)} and {tuple(v.shape)}\")\n", ""),
        ("pair_assert_shapes", "ex_pair", "u and v of different shapes: raise ValueError",
         "    if u.shape != v.shape:\n        raise ValueError(f\"u and v must have the same shape, got "
         "{tuple(u.shape)} and {tuple(v.shape)}\")\n", "    assert u.shape == v.shape, \"u and v differ\"\n"),
        ("pair_no_empty_check", "ex_pair", "an empty batch: raise ValueError",
         "    if u.shape[0] == 0:\n        raise ValueError(\"the pair list is empty\")\n", ""),
        ("pair_last_dim_check", "ex_pair", "u and v of different shapes: raise ValueError",
         "    if u.shape != v.shape:", "    if u.shape[-1] != v.shape[-1]:"),
        ("probe_tensor", "ex_probe", "a list of L+1 floats",
         "    return accuracies\n", "    return torch.tensor(accuracies)\n"),
        ("probe_tensor_items", "ex_probe", "a list of floats",
         "accuracies.append(float((predicted == test_y).float().mean()))",
         "accuracies.append((predicted == test_y).float().mean())"),
        ("probe_skips_embeddings", "ex_probe", "one value per layer, H^0 included",
         "for layer in range(train_x.shape[1]):", "for layer in range(1, train_x.shape[1]):"),
        ("probe_all_layers", "ex_probe", "the probe for layer l sees only layer l's features",
         "probe.fit_linear_probe(train_x[:, layer], train_y, num_classes)",
         "probe.fit_linear_probe(train_x[:, :layer + 1].flatten(1), train_y, num_classes)"),
        ("probe_all_layers", "ex_probe", "", "model(test_x[:, layer])", "model(test_x[:, :layer + 1].flatten(1))"),
        ("probe_train_accuracy", "ex_probe", "each value is the probe's test accuracy",
         "predicted = model(test_x[:, layer]).argmax(dim=-1)", "predicted = model(train_x[:, layer]).argmax(dim=-1)"),
        ("probe_train_accuracy", "ex_probe", "", "(predicted == test_y)", "(predicted == train_y)"),
        ("probe_error_rate", "ex_probe", "each value is an accuracy",
         "float((predicted == test_y).float().mean())", "float((predicted != test_y).float().mean())"),
        ("probe_one_probe", "ex_probe", "one probe per layer, fitted on that layer",
         "        model = probe.fit_linear_probe(train_x[:, layer], train_y, num_classes)\n",
         "        if layer == 0:\n            model = probe.fit_linear_probe(train_x[:, layer], train_y, num_classes)\n"),
    ],
}

ALTERNATIVES: dict[str, list[tuple[str, str, str]]] = {
    "04_masked_lm_pretraining": [
        ("mask_bernoulli_masked_fill", "ex_mask_tokens", '''\
def mask_tokens(input_ids, special_tokens_mask, *, mask_token_id, vocab_size,
                mlm_probability=0.15, generator=None):
    probs = torch.full(input_ids.shape, mlm_probability).masked_fill(special_tokens_mask.bool(), 0.0)
    chosen = torch.bernoulli(probs, generator=generator).bool()
    labels = input_ids.masked_fill(~chosen, -100)
    u = torch.rand(input_ids.shape, generator=generator)
    replacement = torch.randint(0, vocab_size, input_ids.shape, generator=generator, dtype=torch.long)
    out = torch.where(chosen & (u < 0.8), torch.full_like(input_ids, mask_token_id), input_ids)
    out = torch.where(chosen & (u >= 0.8) & (u < 0.9), replacement, out)
    return out, labels'''),
        ("head_index_select", "ex_head", '''\
import torch.nn.functional as F

def masked_lm_head(H, labels, head):
    flat_labels = labels.reshape(-1)
    where = torch.nonzero(flat_labels != -100).squeeze(1)            # (n_chosen,)
    h = H.reshape(-1, H.shape[-1]).index_select(0, where)
    h = head.layer_norm(F.gelu(head.dense(h)))
    return F.linear(h, head.word_embeddings.weight, head.bias), flat_labels[where]'''),
        ("loss_masked_sum", "ex_loss", '''\
def masked_lm_loss(logits, labels):
    logits = logits.float()
    keep = labels != -100
    safe = labels.masked_fill(~keep, 0)
    per_position = torch.logsumexp(logits, dim=-1) - logits.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return (per_position * keep).sum() / keep.sum()'''),
        ("step_unpacked", "ex_step", '''\
def training_step(model, batch, optimizer, scaler, policy, max_grad_norm=1.0):
    input_ids, attention_mask, labels = (batch[k].to(policy.device) for k in ("input_ids", "attention_mask", "labels"))
    for p in model.parameters():
        p.grad = None
    with policy.autocast():
        out = model(input_ids, attention_mask, labels=labels)
    scaler.scale(out.loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    return float(out.loss)'''),
    ],
    "05_finetuning": [
        ("classifier_sequential_names", "ex_classifier", '''\
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        d = encoder.config.hidden_size
        self.head = nn.Linear(in_features=d, out_features=num_labels)

    def forward(self, input_ids, attention_mask=None):
        out = self.encoder(input_ids, attention_mask=attention_mask)
        cls = out.last_hidden_state[:, 0, :]
        return self.head(cls)'''),
        ("ft_step_unpacked", "ex_step", '''\
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad(set_to_none=True)
    ids, mask, y = batch["input_ids"], batch["attention_mask"], batch["labels"]
    with precision.autocast():
        loss = nn.functional.cross_entropy(model(ids, attention_mask=mask).float(), y, reduction="mean")
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return float(loss.detach())'''),
        ("freeze_requires_grad_", "ex_freeze", '''\
def freeze_encoder(model):
    model.encoder.requires_grad_(False)
    return list(filter(lambda p: p.requires_grad, model.parameters()))'''),
        ("change_concatenated", "ex_relative_change", '''\
def relative_change(before, after):
    groups = {}
    for name in before:
        key = "embeddings" if name.startswith("embeddings.") else "layers." + name.split(".")[1]
        groups.setdefault(key, []).append(name)
    out = {}
    for key, names in groups.items():
        b = torch.cat([before[n].flatten().double() for n in names])
        a = torch.cat([after[n].flatten().double() for n in names])
        out[key] = float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))
    return out'''),
    ],
    "06_context_tasks": [
        ("span_loop", "ex_span", '''\
def span_to_token_positions(offsets, start, end):
    if isinstance(offsets, torch.Tensor):
        offsets = offsets.tolist()
    found = []
    for position, (a, b) in enumerate(offsets):
        if (a, b) == (0, 0):
            continue
        if max(a, start) < min(b, end):
            found.append(position)
    if len(found) == 0:
        raise ValueError("the span covers no token")
    return found'''),
        ("pair_hstack", "ex_pair", '''\
def my_pair_features(u, v):
    if tuple(u.shape) != tuple(v.shape):
        raise ValueError("u and v differ in shape")
    if len(u) == 0:
        raise ValueError("no pairs")
    return torch.hstack((u, v, torch.abs(u - v), torch.mul(u, v)))'''),
        ("probe_comprehension", "ex_probe", '''\
def probe_per_layer(train_x, train_y, test_x, test_y, num_classes):
    def accuracy(l):
        clf = probe.fit_linear_probe(train_x[:, l], train_y, num_classes)
        with torch.no_grad():
            return (clf(test_x[:, l]).argmax(-1) == test_y).double().mean().item()
    return [accuracy(l) for l in range(train_x.size(1))]'''),
    ],
}


# ---------------------------------------------------------------- issue 20
# Rules the visible tests did not check before (item 6), and mistakes whose message missed
# the cause (item 7); correct answers a size watcher or a patched name used to fail (item 2).
BUGS["04_masked_lm_pretraining"] += [
    ("mask_same_rows", "ex_mask_tokens", "every position is chosen independently (rows get masks of their own)",
     "    chosen = torch.rand(shape, generator=generator) < mlm_probability        # (batch, seq) bool\n",
     "    chosen = (torch.rand(shape[-1:], generator=generator) < mlm_probability).expand(shape).clone()\n"),
    ("mask_kind_per_column", "ex_mask_tokens", "one uniform number per position decides the corruption",
     "    kind = torch.rand(shape, generator=generator)  ",
     "    kind = torch.rand(shape[-1:], generator=generator).expand(shape)  "),
    ("head_transform_all_rows", "ex_head", "the transform runs at the gathered rows only",
     "    h = H[rows]                                                      # (n_chosen, d)\n"
     "    h = head.layer_norm(head.act(head.dense(h)))                     # (n_chosen, d)\n",
     "    h = head.layer_norm(head.act(head.dense(H)))[rows]\n"),
    ("loss_logsumexp_dim0", "ex_loss", "the log-sum-exp runs over the vocabulary, the last dimension",
     "torch.logsumexp(logits, dim=-1)", "torch.logsumexp(logits, dim=0)"),
    ("step_batch_not_moved", "ex_step", "move the batch's tensors to policy.device",
     "    batch = {k: v.to(policy.device) for k, v in batch.items()}\n", ""),
]
BUGS["05_finetuning"] += [
    ("classifier_no_grad", "ex_classifier", "fine-tuning trains the encoder: no torch.no_grad() in forward",
     "        H = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state   # (batch, seq, d)\n",
     "        with torch.no_grad():                              # the encoder is pre-trained already\n"
     "            H = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state\n"),
    ("classifier_detached", "ex_classifier", "fine-tuning trains the encoder: no .detach() of H",
     "attention_mask=attention_mask).last_hidden_state   # (batch, seq, d)",
     "attention_mask=attention_mask).last_hidden_state.detach()"),
    ("change_name_prefix", "ex_relative_change", "a name's group: 'embeddings' or 'layers.<i>'",
     '"embeddings" if parts[0] == "embeddings" else ".".join(parts[:2])', "name[:8]"),
]
BUGS["06_context_tasks"] += [
    ("pair_first_row_broadcast", "ex_pair", "row i comes from the i-th rows of u and v",
     "torch.cat([u, v, (u - v).abs(), u * v], dim=-1)", "torch.cat([u, v, (u - v[:1]).abs(), u * v[:1]], dim=-1)"),
    ("probe_rounded", "ex_probe", "each value is the test accuracy, not rounded",
     "accuracies.append(float((predicted == test_y).float().mean()))",
     "accuracies.append(round(float((predicted == test_y).float().mean()), 2))"),
]

#: The visible test's message for these bugs must contain this text: it names the rule broken.
MESSAGES: dict[str, dict[str, str]] = {
    "04_masked_lm_pretraining": {
        "mask_same_rows": "masks of their own",
        "mask_kind_per_column": "one uniform number per position",
        "head_transform_all_rows": "the transform (head.dense, GELU, LayerNorm) included",
        "head_project_all_rows": "gather the chosen rows of H",
        "loss_logsumexp_dim0": "the last dimension, dim=-1",
        "step_batch_not_moved": "policy.device",
    },
    "05_finetuning": {
        "classifier_softmax": "the scores before any softmax",
        "classifier_no_grad": "no torch.no_grad()",
        "classifier_detached": "no .detach()",
        "change_name_prefix": "a name's group is 'embeddings'",
        "change_one_group": "a name's group is 'embeddings'",
    },
    "06_context_tasks": {
        "span_contained_only": "only partly still belongs",
        "pair_first_row_broadcast": "from the i-th rows of u and v",
        "probe_rounded": "not rounded",
    },
}

ALTERNATIVES["04_masked_lm_pretraining"] += [
    ("head_contiguous_transpose", "ex_head", '''\
def masked_lm_head(H, labels, head):
    W_o = head.word_embeddings.weight.t().contiguous()             # (d, V), a copy of E transposed
    d = H.shape[-1]
    keep = (labels != -100).view(-1)
    h = H.view(-1, d)[keep]                                          # (n_chosen, d)
    h = head.layer_norm(head.act(head.dense(h)))
    return torch.matmul(h, W_o) + head.bias, labels.view(-1)[keep]'''),
    ("head_transposed_product", "ex_head", '''\
def masked_lm_head(H, labels, head):
    chosen = labels.ne(-100)
    h = torch.masked_select(H, chosen.unsqueeze(-1)).view(-1, H.size(-1))
    h = head.layer_norm(torch.nn.functional.gelu(head.dense(h)))
    scores = (head.word_embeddings.weight @ h.T).T                   # (V, n) transposed: (n, V)
    return scores + head.bias, torch.masked_select(labels, chosen)'''),
    ("head_addmm", "ex_head", '''\
def masked_lm_head(H, labels, head):
    idx = (labels != -100).nonzero(as_tuple=True)
    h = head.layer_norm(head.act(head.dense(H[idx])))
    return torch.addmm(head.bias, h, head.word_embeddings.weight.T), labels[idx]'''),
    ("mask_where_scalars", "ex_mask_tokens", '''\
def mask_tokens(input_ids, special_tokens_mask, *, mask_token_id, vocab_size,
                mlm_probability=0.15, generator=None):
    chosen = torch.rand(input_ids.size(), generator=generator).lt(mlm_probability) & special_tokens_mask.logical_not()
    labels = input_ids.masked_fill(chosen.logical_not(), -100)
    draw = torch.rand(input_ids.size(), generator=generator)
    random_ids = torch.randint(0, vocab_size, input_ids.size(), generator=generator)
    out = input_ids.detach().clone()
    out = torch.where(chosen & (draw < 0.8), mask_token_id, out)
    out = torch.where(chosen & (draw >= 0.8) & (draw < 0.9), random_ids, out)
    return out, labels'''),
    ("loss_take_along_dim", "ex_loss", '''\
def masked_lm_loss(logits, labels):
    flat = logits.flatten(0, -2).double() if logits.dim() > 1 else logits.double()
    y = labels.flatten()
    keep = y.ne(-100)
    picked = torch.take_along_dim(flat[keep], y[keep].unsqueeze(1), dim=1).squeeze(1)
    return torch.mean(flat[keep].logsumexp(-1) - picked)'''),
    ("loss_one_hot", "ex_loss", '''\
import torch.nn.functional as F

def masked_lm_loss(logits, labels):
    keep = labels != -100
    one_hot = F.one_hot(labels.clamp(min=0), logits.shape[-1]).float()
    per_position = logits.float().logsumexp(dim=-1) - (logits.float() * one_hot).sum(dim=-1)
    return per_position[keep].mean()'''),
    ("step_keywords", "ex_step", '''\
def training_step(model, batch, optimizer, scaler, policy, max_grad_norm=1.0):
    batch = {name: tensor.to(device=policy.device, non_blocking=True) for name, tensor in batch.items()}
    optimizer.zero_grad()
    with policy.autocast():
        loss = model(**batch).loss
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().item()'''),
]
ALTERNATIVES["05_finetuning"] += [
    ("classifier_select_positional", "ex_classifier", '''\
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_labels, bias=True)

    def forward(self, input_ids, attention_mask=None):
        states = self.encoder(input_ids, attention_mask)
        return self.head(states.last_hidden_state.select(1, 0))'''),
    ("ft_step_loss_module", "ex_step", '''\
from torch.nn.functional import cross_entropy

def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        logits = model(batch["input_ids"], attention_mask=batch["attention_mask"])
        loss = cross_entropy(logits.float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()'''),
    ("ft_step_criterion", "ex_step", '''\
criterion = nn.CrossEntropyLoss()

def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        loss = criterion(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return float(loss)'''),
    ("freeze_by_name", "ex_freeze", '''\
def freeze_encoder(model):
    for name, p in model.named_parameters():
        if name.startswith("encoder."):
            p.requires_grad = False
    return [p for name, p in model.named_parameters() if not name.startswith("encoder.")]'''),
    ("change_regex", "ex_relative_change", '''\
import re

def relative_change(before, after):
    sq_diff, sq_before = {}, {}
    for name, b in before.items():
        group = re.match(r"(embeddings|layers\\.\\d+)\\.", name).group(1)
        sq_diff[group] = sq_diff.get(group, 0.0) + float(torch.linalg.vector_norm(after[name] - b) ** 2)
        sq_before[group] = sq_before.get(group, 0.0) + float(torch.linalg.vector_norm(b) ** 2)
    return {g: (sq_diff[g] / sq_before[g]) ** 0.5 for g in sq_diff}'''),
]
ALTERNATIVES["06_context_tasks"] += [
    ("span_sorted_set", "ex_span", '''\
def span_to_token_positions(offsets, start, end):
    if isinstance(offsets, torch.Tensor):
        offsets = offsets.tolist()
    hits = sorted({i for i, (a, b) in enumerate(offsets) if (a, b) != (0, 0) and a < end and start < b})
    if not hits:
        raise ValueError(f"no token in [{start}, {end})")
    return hits'''),
    ("pair_concat_dim1", "ex_pair", '''\
def my_pair_features(u, v):
    if u.size() != v.size():
        raise ValueError("u and v must have the same shape")
    if u.size(0) == 0:
        raise ValueError("an empty batch")
    return torch.concat((u, v, torch.abs(u - v), torch.mul(u, v)), dim=1)'''),
    ("probe_count_over_len", "ex_probe", '''\
def probe_per_layer(train_x, train_y, test_x, test_y, num_classes):
    out = []
    for l in range(train_x.shape[1]):
        clf = probe.fit_linear_probe(train_x[:, l], train_y, num_classes)
        with torch.no_grad():
            right = (clf(test_x[:, l]).argmax(dim=1) == test_y).sum().item()
        out.append(right / len(test_y))
    return out'''),
]
