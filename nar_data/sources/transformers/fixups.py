"""Default configs that do not build as shipped, and the fields every modeling file derives the same way.

Data, checked by hand against the modeling code; a fix-up is part of ``ref.config`` and so of its hash.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_FIXUPS", "fill_none", "merge"]

#: Default configs that do not build as shipped, with the smallest change that makes them buildable
#: (each one checked by hand against the modeling code; the change is part of ``ref.config`` and its hash).
DEFAULT_FIXUPS: dict[str, dict[str, Any]] = {
    # Chameleon / Emu3 map their VQ codes to text tokens through the tokenizer's vocabulary (get_image_features:
    # ``img2bpe_mapping_tensor[codes]``, built from the "IMGIMG<code>Z" / "<|visual token<code>|>" names), which the
    # default config leaves empty. One text token per codebook entry, after the special tokens as in the checkpoints:
    # Chameleon's ids 4..8195 (code digits spelt A-J), Emu3's 151854.. up to vocab_size 184622 (32768 codes)
    "chameleon": {"vocabulary_map": {"<image>": 8711, **{
        "IMGIMG" + "".join(chr(65 + int(d)) for d in str(code)) + "Z": 4 + code for code in range(8192)}}},
    "emu3": {"vocabulary_map": {"<image>": 151851, "<|image start|>": 151852, "<|image end|>": 151853,
                                "<|extra_200|>": 151846, "<|extra_201|>": 151847,
                                **{f"<|visual token{code:06d}|>": 151854 + code for code in range(32768)}}},
    # Aya Vision's pixel shuffle needs an even patch grid: 364 / 14 = 26 (the checkpoint's size; 384 gives 27)
    "aya_vision": {"vision_config": {"num_attention_heads": 16, "image_size": 364}},
    "esm": {"vocab_size": 33, "pad_token_id": 1},
    "xmod": {"default_language": "en_XX"},  # X-MOD picks one language adapter; the default config names none
    # the default SigLIP tower (224 px / 16 = 14x14 patches) cannot pool to 256 image tokens; Gemma 3's is 896/14
    "gemma3": {"vision_config": {"image_size": 896, "patch_size": 14}},
    # BLIP-2 family: the image placeholder token is only set by the processor's checkpoint config
    "blip-2": {"image_token_id": 2}, "instructblip": {"image_token_id": 2}, "instructblipvideo": {"video_token_id": 2},
    # -- multimodal / vision-language
    # GLM-4.1V/4.5V/Image text RoPE: recomposition_frequencies splits inv_freq by mrope_section [8, 12, 12]
    # (32 freqs), i.e. head_dim 128 * partial_rotary_factor 0.5 / 2 as in the checkpoints' config.json
    "glm4v": {"text_config": {"rope_parameters": {"partial_rotary_factor": 0.5}}},
    "glm4v_text": {"rope_parameters": {"partial_rotary_factor": 0.5}},
    "glm46v": {"text_config": {"rope_parameters": {"partial_rotary_factor": 0.5}}},
    "glmga": {"text_config": {"rope_parameters": {"partial_rotary_factor": 0.5}}},
    "glm_image": {"text_config": {"rope_parameters": {"partial_rotary_factor": 0.5}}},
    "glm_image_text": {"rope_parameters": {"partial_rotary_factor": 0.5}},
    "glm4v_moe": {"text_config": {"head_dim": 128}},  # 96 heads x 128 (GLM-4.5V), not hidden // heads = 42
    "glm4v_moe_text": {"head_dim": 128},
    # T5Gemma 2 encodes images with Gemma 3's SigLIP (896 / 14 = 64 patches a side, pooled to 16x16 = 256 tokens);
    # the default 224 / 16 = 14 patches cannot pool to 256 (avg_pool kernel 14 // 16 = 0)
    "t5gemma2": {"encoder": {"vision_config": {"image_size": 896, "patch_size": 14}}},
    # the standalone encoder also lacks the dropout_rate that T5Gemma2Config.__post_init__ copies into its text config
    "t5gemma2_encoder": {"vision_config": {"image_size": 896, "patch_size": 14}, "text_config": {"dropout_rate": 0.0}},
    # Step3p7 builds a sliding-window mask even when (as in the default layer_types) no layer uses it
    "step3p7": {"text_config": {"sliding_window": 4096}},
    # Aria's projector maps only 1225 or 4900 patches to queries (projector_patch_to_query_dict); its tower is
    # the checkpoint's SigLIP at 980 / 14 = 70 a side (the default 224 / 32 gives 49)
    "aria": {"vision_config": {"image_size": 980, "patch_size": 14}},
    # Llama 4's vision adapter pixel-shuffles the tower output (x4 channels) into fc1(intermediate_size 5632):
    # the checkpoints' tower width is 1408 (= 5632 / 4), not the default 768; the projector then reads the
    # adapter's projector_output_dim (4096) as vision_output_dim, as in the checkpoints (default 7680)
    "llama4": {"vision_config": {"hidden_size": 1408, "vision_output_dim": 4096}},
    # Cohere Compass keys RoPE by layer type (rope_parameters[layer_type]) but the default is empty: one default
    # (M)RoPE for the "full_attention" layers, at the library's default theta
    "cohere_compass": {"text_config": {"rope_parameters": {"full_attention": {"rope_type": "default",
                                                                              "rope_theta": 10000.0}}}},
    "cohere_compass_text": {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 10000.0}}},
    # PerceptionLM's projector reads vision_config.model_args["embed_dim"]; the default tower is a bare timm
    # resnet50 without model_args. Its tower is the Perception Encoder (PE-Core-L/14 at 448 px, 23 blocks)
    "perception_lm": {"vision_config": {"architecture": "vit_pe_core_large_patch14_336", "do_pooling": False,
                                        "model_args": {"embed_dim": 1024, "depth": 23, "img_size": [448, 448],
                                                       "ref_feat_shape": [32, 32]}}},
    # DeepSeek-OCR 2's decoder picks each layer's MLP from mlp_layer_types (None by default): DeepSeek-MoE's first
    # layer dense, the rest sparse (first_k_dense_replace 1, the docstring's ["dense", "sparse", "sparse", ...]),
    # 6 of its 64 routed experts per token (DeepSeek-V2-Lite's router, as deepseek_v2 below)
    # Its vision encoder reads the SAM neck's 896 channels: the checkpoint's Qwen2-0.5B widths (the default
    # encoder_config is 4096 wide, which the concatenation with the SAM features cannot match)
    "deepseek_ocr2": {"text_config": {"mlp_layer_types": ["dense"] + ["sparse"] * 31, "num_experts_per_tok": 6},
                      "vision_config": {"encoder_config": {"hidden_size": 896, "num_attention_heads": 14,
                                                           "num_key_value_heads": 2, "intermediate_size": 4864}}},
    # Molmo2's adapter projects into text_hidden_size and the features are *added* onto the text embeddings: it
    # must be the text model's width (4096), not Molmo-7B's 3584
    "molmo2": {"adapter_config": {"text_hidden_size": 4096}},
    # MoE defaults left None that the router / experts size from: the checkpoints' values
    "deepseek_v2": {"num_experts_per_tok": 6},  # 64 routed experts = DeepSeek-V2-Lite, top-6
    "dots1": {"n_routed_experts": 128, "num_experts_per_tok": 6, "n_shared_experts": 2},  # dots.llm1
    # DbrxAttention reads attn_config.rope_theta and clamps qkv to clip_qkv unconditionally (DBRX: 5e5 and 8)
    "dbrx": {"attn_config": {"rope_theta": 500000, "clip_qkv": 8}},
    # HunYuan-VL's rotary embedding expands positions over len(mrope_section) axes and has no fallback without
    # one: XD-RoPE's four 16-wide sections (sum = head_dim 128 / 2, what _validate_mrope_section checks)
    "hunyuan_vl": {"text_config": {"rope_parameters": {"mrope_section": [16, 16, 16, 16]}}},
    "hunyuan_vl_text": {"rope_parameters": {"mrope_section": [16, 16, 16, 16]}},
    # get_rope_index reads config.vision_start_token_id, which the thinker configs do not declare (checkpoint value)
    "qwen2_5_omni_thinker": {"vision_start_token_id": 151652},
    # ... and Qwen3-Omni's text attention is 128 wide (28 heads x 128, not 2048 // 28 = 73; MRoPE needs it even)
    "qwen3_omni_moe_thinker": {"vision_start_token_id": 151652, "text_config": {"head_dim": 128}},
    # ModernVBERT's pixel shuffle folds the patch grid by 4: 224 / 16 = 14 patches cannot fold. Its SigLIP tower
    # has fixed positions (tiles are exactly image_size) and get_image_features reads the pixel values (see
    # inputs._tile_inputs), so the tile must fit the shadow limit: 128 / 16 = 8 patches (the checkpoint uses 512)
    "modernvbert": {"vision_config": {"image_size": 128}},
    "ultravbert": {"vision_config": {"image_size": 128}},
    # -- audio / speech
    # the decoder layers read config.num_key_value_heads, which only the encoder sub-config defines: MHA as there
    "moonshine_streaming": {"num_key_value_heads": 8},
    # the CTC heads need a vocabulary; these default configs leave it None (wav2vec2's default character vocab)
    "wav2vec2-conformer": {"vocab_size": 32}, "wav2vec2-bert": {"vocab_size": 32},
    # -- other
    # LightGlue's adaptive depth/width (stop or prune when keypoint confidences pass a threshold) reads activation
    # values; -1 disables both (documented), so every layer and keypoint runs: the full architecture
    "lightglue": {"depth_confidence": -1.0, "width_confidence": -1.0},
    # Hiera's MAE decoder sizes are None by default (facebook/hiera-*-mae: 512 wide, 8 layers, 16 heads, recalled,
    # not checked against a config file)
    "hiera": {"decoder_hidden_size": 512, "decoder_depth": 8, "decoder_num_heads": 16},
    # the segmentation head reads 4 backbone stages; the error message's (and BEiT-base checkpoints') choice
    "beit": {"out_indices": [3, 5, 7, 11], "out_features": ["stage3", "stage5", "stage7", "stage11"]},
    # TimmBackbone wraps a timm model named in the config (none by default); the class docs' example
    "timm_backbone": {"backbone": "resnet50"},
    # EdgeTAM's config sets its RepViT backbone as ``archirecture="repvit_m1"`` (sic), so the timm wrapper builds
    # the default resnet50, whose 2048/1024-channel stages do not fit the FPN's backbone_channel_list [384, ..., 48]
    "edgetam": {"vision_config": {"backbone_config": {"architecture": "repvit_m1"}}},
    "edgetam_video": {"vision_config": {"backbone_config": {"architecture": "repvit_m1"}}},
    "edgetam_vision_model": {"backbone_config": {"architecture": "repvit_m1"}},
    # LW-DETR's projector has no level by default (nothing reaches the decoder: torch.cat([])); the small/medium
    # models (AnnaZhang/lwdetr_small_60e_coco) project one level at scale 1.0 (P4) -- recalled, not checked against
    # a config file; the two fields derived from it in __post_init__ are in the dict too, and its kwargs would reset them
    "lw_detr": {"projector_scale_factors": [1.0], "projector_in_channels": [256], "num_feature_levels": 1},
    # UVDoc concatenates the feature maps of all 6 backbone stages (bridge_connector in = 128 * 6 channels);
    # the backbone config defaults to the last stage only
    "uvdoc": {"backbone_config": {"out_features": [f"stage{i}" for i in range(1, 7)], "out_indices": [1, 2, 3, 4, 5, 6]}},
    # PP-OCRv6 detectors: __post_init__ defaults the backbone to the *recognition* PP-LCNetV4 (stride [2, 1],
    # stage4 only), which no det neck can fuse (it needs 4 maps at strides 4/8/16/32). The config classes
    # state their own backbone in ``sub_configs_defaults``; that one, with the v4 keys it shares overridden.
    # Small: the neck reads the feature maps directly, so its inputs are PP-LCNetV3 x0.75's stage widths
    # (64/128/256/512 * 0.75; the v5 mobile 1x1 ``layer`` convs that made (12, 18, 42, 360) are gone in v6)
    "pp_ocrv6_small_det": {
        "backbone_config": {
            "model_type": "pp_lcnet_v3", "scale": 0.75, "divisor": 16, "stem_channels": 16, "hidden_act": "hardswish",
            "out_features": ["stage2", "stage3", "stage4", "stage5"], "out_indices": [2, 3, 4, 5],
            "depths": [1, 2, 2, 5, 4], "stage_names": ["stem", "stage1", "stage2", "stage3", "stage4", "stage5"],
            "block_configs": [[[3, 16, 32, 1, False]], [[3, 32, 64, 2, False], [3, 64, 64, 1, False]],
                              [[3, 64, 128, 2, False], [3, 128, 128, 1, False]],
                              [[3, 128, 256, 2, False]] + [[5, 256, 256, 1, False] for _ in range(4)],
                              [[5, 256, 512, 2, True], [5, 512, 512, 1, True],
                               [5, 512, 512, 1, False], [5, 512, 512, 1, False]]]},
        "layer_list_out_channels": [48, 96, 192, 384]},
    # Medium: HGNetV2-L as its sub_configs_defaults states; intraclass_block_config / scale_factor_list / kernel_list
    # are None. kernel_list is the docstring's [3, 2, 2]; the intra-class block sums 7/5/3 x (k x k, k x 1, 1 x k)
    # convs (its docstring and attribute names), so each is stride 1 with "same" padding; scale_factor_list brings
    # the 4 maps (strides 4..32) to one size for the torch.cat (the hard-coded [1, 2, 4, 8] of the small det neck)
    "pp_ocrv6_medium_det": {
        "backbone_config": {
            "model_type": "hgnet_v2", "arch": "L", "depths": [3, 4, 6, 3], "stem_channels": [3, 32, 48],
            "stage_out_channels": [128, 512, 1024, 2048], "return_idx": [0, 1, 2, 3], "freeze_stem_only": True,
            "freeze_at": 0, "freeze_norm": True, "lr_mult_list": [0, 0.05, 0.05, 0.05, 0.05],
            "out_features": ["stage1", "stage2", "stage3", "stage4"], "out_indices": [1, 2, 3, 4]},
        "intraclass_block_config": {
            "reduce_channel": [1, 1, 0], "return_channel": [1, 1, 0],
            **{f"{name}_{ratio}ratio": [kernel, [1, 1], [kernel[0] // 2, kernel[1] // 2]]
               for ratio, k in (("long", 7), ("mid", 5), ("short", 3))
               for name, kernel in (("vertical_long_to_small_conv", [k, 1]), ("horizontal_small_to_long_conv", [1, k]),
                                    ("symmetric_conv_long", [k, k]))}},
        "scale_factor_list": [1, 2, 4, 8], "kernel_list": [3, 2, 2]},
}


def fill_none(d: dict[str, Any]) -> None:
    """Fill the ``None`` fields that every modeling file derives the same way (recursively)."""
    for v in d.values():
        if isinstance(v, dict):
            fill_none(v)
    hidden, heads = d.get("hidden_size"), d.get("num_attention_heads")
    if "head_dim" in d and d["head_dim"] is None and isinstance(hidden, int) and isinstance(heads, int) and heads:
        d["head_dim"] = hidden // heads
    if "num_key_value_heads" in d and d["num_key_value_heads"] is None and isinstance(heads, int):
        d["num_key_value_heads"] = heads
    if "prediction_length" in d and d["prediction_length"] is None:
        d["prediction_length"] = 24  # time-series configs: the ModelTesters' horizon order of magnitude
    if d.get("is_encoder_decoder") and "decoder_start_token_id" not in d:
        d["decoder_start_token_id"] = d.get("pad_token_id") or 0  # T5's convention: start = pad
    vision, text = d.get("vision_config"), d.get("text_config")
    if isinstance(vision, dict) and isinstance(text, dict) and isinstance(vision.get("out_hidden_size"), int) \
            and isinstance(text.get("hidden_size"), int):
        vision["out_hidden_size"] = text["hidden_size"]  # the merger projects into the text model's width
    if "context_length" in d and d["context_length"] is None and isinstance(d.get("prediction_length"), int):
        d["context_length"] = d["prediction_length"]  # what the config's __init__ does


def merge(d: dict[str, Any], fix: dict[str, Any]) -> dict[str, Any]:
    for k, v in fix.items():
        d[k] = merge(dict(d.get(k) or {}), v) if isinstance(v, dict) and isinstance(d.get(k), dict) else v
    return d
