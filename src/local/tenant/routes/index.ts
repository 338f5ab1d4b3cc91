/**
 * Every Graph route module of the local tenant, in the order the router tries them.
 */
import type { RouteModule } from '../context';
import { applicationRoutes } from './applications';
import { deletedItemRoutes } from './deleted-items';
import { consentRoutes } from './consent';
import { directoryRoutes } from './directory';
import { directoryRoleRoutes } from './directory-roles';
import { federatedCredentialRoutes } from './federated-credentials';
import { ownersRoutes } from './owners';
import { policyRoutes } from './policies';
import { reportRoutes } from './reports';
import { servicePrincipalsRoutes } from './service-principals';

export const allRoutes: readonly RouteModule[] = [
  applicationRoutes,
  federatedCredentialRoutes,
  deletedItemRoutes,
  servicePrincipalsRoutes,
  consentRoutes,
  ownersRoutes,
  directoryRoutes,
  directoryRoleRoutes,
  policyRoutes,
  reportRoutes,
];
