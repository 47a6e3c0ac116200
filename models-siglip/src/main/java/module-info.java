/** The SigLIP family: Hugging Face {@code SiglipModel} / {@code SiglipVisionModel} checkpoints on the shared container. */
module dev.visiontower.models.siglip {
    requires dev.visiontower.api;
    requires ai.djl.tokenizers;
    requires static com.google.auto.service;

    exports dev.visiontower.models.siglip;

    provides dev.visiontower.api.spi.ModelFamilyProvider with dev.visiontower.models.siglip.SiglipFamilyProvider;
}
