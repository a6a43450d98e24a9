"""The encoder and its parts: config, embeddings, attention, layers, heads, weights."""
from .attention import MultiHeadSelfAttention
from .config import EncoderConfig
from .embeddings import Embeddings
from .encoder import Encoder, EncoderOutput
from .heads import ClassificationHead, MaskedLMHead
from .token_pair import PairBatch, TokenPairHead, WordInContextModel, pair_features, pool_targets
from .layer import EncoderLayer, FeedForward
from .masked_lm import EncoderForMaskedLM, MaskedLMOutput, masked_lm_metrics
from .weights import WeightsMismatchError, load_bert_weights, ours_to_bert

__all__ = [
    "ClassificationHead", "Embeddings", "Encoder", "EncoderConfig", "EncoderForMaskedLM", "EncoderLayer",
    "EncoderOutput", "FeedForward", "MaskedLMHead", "MaskedLMOutput", "masked_lm_metrics", "MultiHeadSelfAttention", "WeightsMismatchError",
    "load_bert_weights", "ours_to_bert",
    "PairBatch", "TokenPairHead", "WordInContextModel", "pair_features", "pool_targets",
]
