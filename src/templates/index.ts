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
  type TemplateService,
  toCustomerTemplateView,
} from './service.js';
export {
  type CustomerTemplateView,
  customerTemplateViewSchema,
  TEMPLATE_BUILD_STATUSES,
  type TemplateBuildView,
  type TemplateView,
  templateBuildViewSchema,
  templateViewSchema,
} from './views.js';
