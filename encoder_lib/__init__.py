"""encoder_lib: the course's reference Transformer encoder and its tooling.

H = Encode_theta(x): token ids in, one contextual vector h_i per token out.
"""
from .data.masking import MLMCollator, mask_tokens
from .device import describe_device, get_device, precision_policy, seed_everything
from .model import (ClassificationHead, Encoder, EncoderConfig, EncoderForMaskedLM, EncoderOutput,
                    MaskedLMHead, MaskedLMOutput, WeightsMismatchError, load_bert_weights,
                    masked_lm_metrics)
from .pretrained import bert_state_dict, load_masked_lm, load_pretrained, pretrained_model_dir
from .tokenizer import WordPieceTokenizer

__version__ = "0.1.0"


__all__ = [
    "ClassificationHead", "Encoder", "EncoderConfig", "EncoderForMaskedLM", "EncoderOutput",
    "MLMCollator", "MaskedLMHead", "MaskedLMOutput", "WeightsMismatchError", "WordPieceTokenizer",
    "bert_state_dict", "describe_device", "get_device", "load_bert_weights", "load_masked_lm", "load_pretrained",
    "mask_tokens", "masked_lm_metrics", "precision_policy", "pretrained_model_dir", "seed_everything",
]
