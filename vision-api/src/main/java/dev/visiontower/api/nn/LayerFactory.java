package dev.visiontower.api.nn;

import dev.visiontower.api.Ops;

/**
 * Builds the leaves of the shared container. {@link #DEFAULT} composes them from {@link Ops}; a backend may return its
 * own factory (see {@link dev.visiontower.api.Backend#layers()}) that substitutes fused layers reading the same
 * canonical parameter names, so model code and checkpoints never change.
 */
public interface LayerFactory {

    /** The reference layers built from backend operations. */
    LayerFactory DEFAULT = new DefaultLayers();

    /** Reads {@code weight} ({@code [D, C, P, P]}) and {@code bias} if present. */
    PatchEmbedding patchEmbedding(int patchSize, Parameters params, Ops ops);

    /** Reads the names listed in {@link BlockSpec}. */
    TransformerBlock block(BlockSpec spec, Parameters params, Ops ops);

    /**
     * The reference layers with transformer blocks built by {@code blocks}, which receives the reference block for the
     * same parameters (to fall back on for inputs it does not take). The usual way for a backend to substitute fused
     * blocks.
     */
    static LayerFactory withBlocks(BlockSubstitution blocks) {
        return new LayerFactory() {
            @Override
            public PatchEmbedding patchEmbedding(int patchSize, Parameters params, Ops ops) {
                return DEFAULT.patchEmbedding(patchSize, params, ops);
            }

            @Override
            public TransformerBlock block(BlockSpec spec, Parameters params, Ops ops) {
                return blocks.block(spec, params, DEFAULT.block(spec, params, ops));
            }

            @Override
            public AttentionPool attentionPool(BlockSpec spec, Parameters params, Ops ops) {
                return DEFAULT.attentionPool(spec, params, ops);
            }
        };
    }

    /** Builds a backend's block from the canonical parameters and the reference block. */
    @FunctionalInterface
    interface BlockSubstitution {
        TransformerBlock block(BlockSpec spec, Parameters params, TransformerBlock reference);
    }

    /**
     * Multihead attention pooling with a learned probe. Reads {@code probe [D]}, {@code attn.{q,k,v,proj}.*},
     * {@code norm.*}, {@code mlp.fc1.*}, {@code mlp.fc2.*}.
     */
    AttentionPool attentionPool(BlockSpec spec, Parameters params, Ops ops);
}
