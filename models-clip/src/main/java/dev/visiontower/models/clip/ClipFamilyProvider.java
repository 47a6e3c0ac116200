package dev.visiontower.models.clip;

import com.google.auto.service.AutoService;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.nn.TextConfig;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.spi.ModelDefinition;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.spi.ModelRecipe;
import dev.visiontower.api.text.Tokenizer;

import java.util.Map;
import java.util.Optional;

/** The CLIP family: Hugging Face and OpenAI / open_clip checkpoints on the shared container. */
@AutoService(ModelFamilyProvider.class)
public final class ClipFamilyProvider implements ModelFamilyProvider {

    @Override
    public String name() {
        return "clip";
    }

    @Override
    public Optional<ModelDefinition> recognize(Checkpoint c) {
        ClipCheckpointFormat f = ClipCheckpointFormat.detect(c);
        if (f == null) {
            return Optional.empty();
        }
        VitConfig vision = f.config(c);
        ModelDefinition.Builder d = ModelDefinition.builder(name(), f.describe(c))
                .vision(vision, f.mapping(c, vision))
                .preprocessor(() -> f.preprocessor(c, vision));
        if (f.hasText(c)) {
            TextConfig text = f.textConfig(c);
            d.text(text, f.textMapping(c, text))
                    .tokenizer(() -> Optional.ofNullable(f.tokenizer(c.dir(), text)));
            if (c.contains(f.logitScaleName())) {
                d.head(Map.of("logit_scale", f.logitScaleName()),
                        (backend, p) -> new ClipHead(backend, p.get("logit_scale")));
            }
        }
        return Optional.of(d.build());
    }

    /** The vision architecture a checkpoint declares. */
    public static VitConfig visionConfig(Checkpoint c) {
        return new ClipFamilyProvider().recognize(c).orElseThrow(() -> new dev.visiontower.api.CheckpointException(
                c.dir() + ": not a CLIP checkpoint (expected vision_model.* with a CLIP config.json, or visual.* in "
                        + "OpenAI / open_clip naming)")).visionConfig();
    }

    @Override
    public Optional<ModelRecipe> recipe() {
        return Optional.of(new ClipRecipe());
    }

    /** open_clip's tokenizer with the bundled merges, context length 77. */
    @Override
    public Optional<Tokenizer> defaultTokenizer() {
        return Optional.of(ClipTokenizer.bundled(77));
    }
}
