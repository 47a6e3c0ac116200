/**
 * The CLIP family: recognises Hugging Face ({@code CLIPModel}, {@code CLIPVisionModel},
 * {@code CLIPVisionModelWithProjection}) and OpenAI / open_clip checkpoints and configures the shared ViT container.
 */
module dev.visiontower.models.clip {
    requires dev.visiontower.api;
    requires static com.google.auto.service;

    exports dev.visiontower.models.clip;

    provides dev.visiontower.api.spi.ModelFamilyProvider with dev.visiontower.models.clip.ClipFamilyProvider;
}
