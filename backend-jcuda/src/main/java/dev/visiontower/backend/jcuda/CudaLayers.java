package dev.visiontower.backend.jcuda;

import dev.visiontower.api.Ops;
import dev.visiontower.api.nn.AttentionPool;
import dev.visiontower.api.nn.BlockSpec;
import dev.visiontower.api.nn.LayerFactory;
import dev.visiontower.api.nn.Parameters;
import dev.visiontower.api.nn.PatchEmbedding;
import dev.visiontower.api.nn.TransformerBlock;

/**
 * The jcuda backend's layers for bfloat16/float16 compute: {@link FusedBlock} for the transformer blocks it supports,
 * the reference layers for everything else (same parameter names, so models and checkpoints do not change).
 */
final class CudaLayers implements LayerFactory {
    private final CudaBackend backend;

    CudaLayers(CudaBackend backend) {
        this.backend = backend;
    }

    @Override
    public PatchEmbedding patchEmbedding(int patchSize, Parameters params, Ops ops) {
        return LayerFactory.DEFAULT.patchEmbedding(patchSize, params, ops);
    }

    @Override
    public TransformerBlock block(BlockSpec spec, Parameters params, Ops ops) {
        TransformerBlock reference = LayerFactory.DEFAULT.block(spec, params, ops);
        return ops == backend.ops() && FusedBlock.supports(spec) ? new FusedBlock(backend, spec, params, reference)
                : reference;
    }

    @Override
    public AttentionPool attentionPool(BlockSpec spec, Parameters params, Ops ops) {
        return LayerFactory.DEFAULT.attentionPool(spec, params, ops);
    }
}
