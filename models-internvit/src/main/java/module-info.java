/**
 * The InternViT family: OpenGVLab {@code InternVisionModel} checkpoints (300M and 6B flavours), standalone or inside
 * InternVL chat checkpoints ({@code vision_model.*}), on the shared container.
 */
module dev.visiontower.models.internvit {
    requires dev.visiontower.api;
    requires static com.google.auto.service;

    exports dev.visiontower.models.internvit;

    provides dev.visiontower.api.spi.ModelFamilyProvider with dev.visiontower.models.internvit.InternVitFamilyProvider;
}
