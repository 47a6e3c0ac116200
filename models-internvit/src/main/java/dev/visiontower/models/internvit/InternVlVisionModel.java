package dev.visiontower.models.internvit;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.nn.VisionTransformer;

import java.util.List;

/**
 * The vision side of an InternVL chat checkpoint: InternViT, the layer InternVL reads ({@code select_layer}), and the
 * pixel-shuffle projector. Outputs: {@code lastHiddenState} = the selected layer's tokens {@code [T, 1 + g*g, C]},
 * {@code poolerOutput} = its class token, {@code imageEmbeds} = the LLM-ready tokens {@code [T, (g/2)^2, D_llm]}.
 */
final class InternVlVisionModel implements VisionModel {
    private final VisionTransformer vit;
    private final InternVlProjector projector;
    private final int selectLayer;

    InternVlVisionModel(VisionTransformer vit, InternVlProjector projector, int selectLayer) {
        this.vit = vit;
        this.projector = projector;
        this.selectLayer = selectLayer;
    }

    @Override
    public Backend backend() {
        return vit.backend();
    }

    @Override
    public int imageSize() {
        return vit.imageSize();
    }

    @Override
    public VisionOutput forward(Tensor pixels, ForwardOptions options) {
        Backend b = vit.backend();
        try (TensorScope scope = b.newScope()) {
            // the outputs move into this scope: everything but what is returned is closed with it
            VisionOutput out = vit.forward(pixels, options.withHiddenStates(true));
            List<Tensor> hs = out.hiddenStates();
            Tensor tokens = hs.get(selectLayer < 0 ? hs.size() + selectLayer : selectLayer);
            Tensor cls = b.ops().reshape(b.ops().narrow(tokens, 1, 0, 1), -1, tokens.dim(2));
            Tensor embeds = projector.project(b, tokens);
            scope.keep(tokens);
            scope.keep(cls);
            scope.keep(embeds);
            return new VisionOutput(tokens, cls, embeds, List.of());
        }
    }

    @Override
    public void close() {
        vit.close();
        projector.close();
    }
}
