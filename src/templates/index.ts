export {
  defaultTemplateCatalog,
  parseTemplateCatalog,
  type TemplateDefinition,
  templateDatabaseName,
  templateDefinitionSchema,
} from './catalog.js';
export {
  type CustomerTemplateView,
  createTemplateService,
  TEMPLATE_BUILD_QUEUE,
  TEMPLATE_OWNER_ROLE,
  type TemplateBuildView,
  type TemplateService,
  type TemplateView,
  toCustomerTemplateView,
} from './service.js';
