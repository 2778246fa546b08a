// The Flex Consumption plan and Function App (Node.js 20) and every app setting it gets. The app
// reaches storage, ACS (identities, SMS, email), Key Vault and Application Insights as the
// user-assigned identity; no setting holds a key or a storage/ACS connection string, and every
// secret setting is a Key Vault reference.
param name string
param planName string
param location string
param tags { *: string }
@description('Tag azd uses to find the app of the `api` service in azure.yaml.')
param serviceName string = 'api'
param identityResourceId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param keyVaultName string
param twilioAuthTokenSecretName string
param verificationCodeSecretName string
param verifyApiAccountSidSecretName string
param verifyApiAuthTokenSecretName string
param communicationEndpoint string
@description('Sender address of the Azure-managed email domain linked to the ACS resource.')
param acsEmailSenderAddress string
@description('E.164 number bought for the ACS resource that SMS through ACS are sent from. Empty: unset.')
param acsSmsFromNumber string
param identityMapTableName string
param twilioAccountSid string
param twilioPhoneNumber string
@description('Caller id of the call channel (E.164). Empty: no call channel.')
param twilioVoiceFrom string
@description('WhatsApp sender (E.164, no whatsapp: prefix); set only with twilioWhatsAppContentSid.')
param twilioWhatsAppFrom string
@description('Approved Content template (HX...) of the whatsapp channel; set only with twilioWhatsAppFrom.')
param twilioWhatsAppContentSid string
param acsTeamsClientId string
param sidecarUrl string
param maximumInstanceCount int
param instanceMemoryMB int

// The /api/me functions, disabled when no AgentID sidecar URL is given (see main.bicep).
var meFunctionNames = loadJsonContent('me-functions.json')

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve as the user-assigned identity, not a system identity.
    keyVaultReferenceIdentity: identityResourceId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Deployments go through Entra (azd, the Functions Core Tools); publishing passwords stay off.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set: Flex Consumption takes the
// runtime from functionAppConfig and rejects them as app settings.
var coreSettings = {
  // Identity-based AzureWebJobsStorage: the host, the Durable task hub and the identity map.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // DefaultAzureCredential (ACS client) picks the user-assigned identity by this client id.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  TwilioAccountSid: twilioAccountSid
  TwilioAuthToken: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${twilioAuthTokenSecretName})'
  TwilioPhoneNumber: twilioPhoneNumber
  // One ACS resource serves identities and tokens, SMS and email, each reached by the identity.
  COMMUNICATION_SERVICES_ENDPOINT: communicationEndpoint
  COMMUNICATION_SERVICES_EMAIL_SENDER: acsEmailSenderAddress
  VERIFICATION_CODE_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${verificationCodeSecretName})'
  // The HTTP Basic credentials callers of the Verify v2 API (/api/verify/v2) present.
  VERIFY_API_ACCOUNT_SID: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${verifyApiAccountSidSecretName})'
  VERIFY_API_AUTH_TOKEN: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${verifyApiAuthTokenSecretName})'
  ACS_IDENTITY_TABLE_NAME: identityMapTableName
}

var teamsSettings = empty(acsTeamsClientId) ? {} : { ACS_TEAMS_CLIENT_ID: acsTeamsClientId }
var acsSmsSettings = empty(acsSmsFromNumber) ? {} : { COMMUNICATION_SERVICES_SMS_FROM: acsSmsFromNumber }
// The call and WhatsApp channels are on only when their settings are there (src/delivery/settings.ts);
// WhatsApp needs both its sender and its template, so one without the other sets neither.
var voiceSettings = empty(twilioVoiceFrom) ? {} : { TwilioVoiceFrom: twilioVoiceFrom }
var whatsAppSettings = empty(twilioWhatsAppFrom) || empty(twilioWhatsAppContentSid)
  ? {}
  : {
      TwilioWhatsAppFrom: twilioWhatsAppFrom
      TwilioWhatsAppContentSid: twilioWhatsAppContentSid
    }

// With a sidecar URL the /api/me routes call it (it is not on loopback in Azure); without one
// they are switched off with the host's own AzureWebJobs.<name>.Disabled settings.
var meDisabledSettings = toObject(meFunctionNames, fn => 'AzureWebJobs.${fn}.Disabled', fn => 'true')
var sidecarUrlSettings = {
  SIDECAR_URL: sidecarUrl
  SIDECAR_ALLOW_NON_LOOPBACK: 'true'
}
var sidecarSettings = empty(sidecarUrl) ? meDisabledSettings : sidecarUrlSettings

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    coreSettings,
    teamsSettings,
    acsSmsSettings,
    voiceSettings,
    whatsAppSettings,
    sidecarSettings
  )
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output uri string = 'https://${site.properties.defaultHostName}'
