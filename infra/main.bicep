// Registrar in Azure: one resource group with
//   - a user-assigned managed identity: the bot's identity (Azure Bot, UserAssignedMSI), the identity that calls
//     Microsoft Graph, and the identity that reaches the tables; no client secret, no account key anywhere;
//   - a Linux App Service (Node 22 LTS, always on, https only, health check on /healthz) running `node dist/src/index.js`;
//   - the Azure Bot with the Microsoft Teams channel, messaging endpoint https://<app>/api/messages;
//   - a storage account for the tables, shared keys disabled, Storage Table Data Contributor for the identity;
//   - Application Insights on a Log Analytics workspace.
// The app settings are exactly what src/config.ts reads (test/unit/infra/bicep-settings.test.ts checks it).
// Microsoft Graph application permissions are granted afterwards with `npm run setup:permissions` (infra/README.md).

targetScope = 'resourceGroup'

@description('Base of the resource names: 3 to 16 lowercase letters and digits.')
@minLength(3)
@maxLength(16)
param name string = 'registrar'

@description('Region of the resources. The Azure Bot itself is global.')
param location string = resourceGroup().location

@description('The Entra group (object id) whose members, nested too, are Registrar operators: they name the approvals and reminders channels and may run scans.')
param adminGroupId string

@description('Optional: the Entra group (object id) whose members approve requests. Empty: the operators approve.')
param approverGroupId string = ''

@description('Optional: the Entra group (object id) whose members may ask for apps. Empty: anyone in the allowed tenants.')
param requesterGroupId string = ''

@description('Optional: comma-separated tenant ids whose Teams activities are accepted. Empty: this tenant only.')
param allowedTenantIds string = ''

@description('Which Microsoft cloud Registrar talks to. Derived from the Azure cloud of the deployment; set usgovdod for DoD (L5), which Azure Resource Manager cannot tell from GCC High.')
@allowed([
  'global'
  'usgov'
  'usgovdod'
  'china'
])
param graphCloud string = environment().name == 'AzureUSGovernment' ? 'usgov' : environment().name == 'AzureChinaCloud' ? 'china' : 'global'

@description('When the credential-expiry scan runs (cron), or off.')
param reminderCron string = '0 8 * * *'

@description('The IANA time zone reminderCron is read in.')
param timeZone string = 'UTC'

@description('App Service plan SKU. Always on needs Basic (B1) or above.')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'S2'
  'S3'
  'P0v3'
  'P1v3'
  'P2v3'
])
param appServiceSku string = 'B1'

@description('The Node.js runtime of the App Service.')
param linuxFxVersion string = 'NODE|22-lts'

@description('Azure Bot pricing tier. The Teams channel is a standard channel, free on F0.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('Whether FTP and the deployment (SCM) site accept publishing passwords. Off: deployments sign in with Entra ID, as az webapp deploy does.')
param allowBasicPublishing bool = false

@description('Display name of the Azure Bot.')
param botDisplayName string = 'Registrar'

var suffix = uniqueString(resourceGroup().id, name)
var storageAccountName = take('${name}${suffix}', 24)
// Built-in role: read, write and delete tables and entities (no keys, no management plane).
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-identity'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // Only Entra identities reach the data: no account key, no SAS.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource tableAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs-${suffix}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-insights-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan-${suffix}'
  location: location
  kind: 'linux'
  sku: {
    name: appServiceSku
  }
  properties: {
    reserved: true
  }
}

// Settings every deployment has. Each is read by src/config.ts; the bot refuses to start without the required ones.
var coreSettings = {
  BOT_ID: identity.properties.clientId
  BOT_TYPE: 'UserAssignedMsi'
  BOT_TENANT_ID: identity.properties.tenantId
  AZURE_TENANT_ID: identity.properties.tenantId
  AZURE_CLIENT_ID: identity.properties.clientId
  GRAPH_CLOUD: graphCloud
  STORAGE_ACCOUNT_URL: 'https://${storage.name}.table.${environment().suffixes.storage}'
  ADMIN_GROUP_ID: adminGroupId
  REMINDER_CRON: reminderCron
  TZ: timeZone
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
}

// Settings set only when their parameter is given.
var optionalSettings = {
  APPROVER_GROUP_ID: approverGroupId
  REQUESTER_GROUP_ID: requesterGroupId
  ALLOWED_TENANT_IDS: allowedTenantIds
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: '${name}-${suffix}'
  location: location
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: linuxFxVersion
      appCommandLine: 'node dist/src/index.js'
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: app
  name: 'appsettings'
  properties: union(coreSettings, toObject(filter(items(optionalSettings), s => !empty(s.value)), s => s.key, s => s.value))
  dependsOn: [
    tableAccess
  ]
}

// Deployments sign in with Entra ID (az webapp deploy); publishing passwords are off unless allowBasicPublishing.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: allowBasicPublishing
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: allowBasicPublishing
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${name}-bot-${suffix}'
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${app.properties.defaultHostName}/api/messages'
    msaAppId: identity.properties.clientId
    msaAppType: 'UserAssignedMSI'
    msaAppMSIResourceId: identity.id
    msaAppTenantId: identity.properties.tenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

// Outputs in the names the Teams app package (appPackage/.env.example) and the Agents Toolkit (m365agents.yml) use.
output BOT_ID string = identity.properties.clientId
output APP_HOSTNAME string = app.properties.defaultHostName
output APP_SERVICE_NAME string = app.name
output APP_SERVICE_RESOURCE_ID string = app.id
output IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output BOT_TENANT_ID string = identity.properties.tenantId
