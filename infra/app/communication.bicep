// Azure Communication Services for ACS identities and tokens, SMS and email, reached by Entra
// identity only: access keys are disabled, so COMMUNICATION_SERVICES_CONNECTION_STRING is never
// set in Azure. Email goes out from an Azure-managed domain (DoNotReply@<guid>.azurecomm.net)
// linked to the ACS resource; SMS needs a number bought for the resource (the portal or the
// Phone Numbers API: a template cannot buy one), passed back in as `acsSmsFromNumber`.
param name string
param emailServiceName string
param tags { *: string }
@description('Where ACS and its email service store data at rest.')
param dataLocation string

resource emailService 'Microsoft.Communication/emailServices@2026-03-18' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

// Free, verified by Azure, no DNS to set up; a custom domain can replace it later.
resource azureManagedDomain 'Microsoft.Communication/emailServices/domains@2026-03-18' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    // Verification mail has no business tracking opens or clicks.
    userEngagementTracking: 'Disabled'
  }
}

resource communication 'Microsoft.Communication/communicationServices@2026-03-18' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    disableLocalAuth: true
    linkedDomains: [
      azureManagedDomain.id
    ]
  }
}

output name string = communication.name
output endpoint string = 'https://${communication.properties.hostName}/'
output emailSenderAddress string = 'DoNotReply@${azureManagedDomain.properties.mailFromSenderDomain}'
