export {
  defaultTemplateCatalog,
  parseTemplateCatalog,
  type TemplateDefinition,
  templateDatabaseName,
  templateDefinitionSchema,
} from './catalog.js';
export {
  createTemplateService,
  TEMPLATE_BUILD_QUEUE,
  TEMPLATE_OWNER_ROLE,
  type TemplateBuildView,
  type TemplateService,
  type TemplateView,
} from './service.js';
