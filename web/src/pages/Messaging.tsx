// The messaging section (component `messaging`): `#/messaging/<page>[/<id>]`.
import { NoAccess, NotFound } from './Module';
import { CampaignDetailPage, CampaignEditPage, CampaignsPage } from './MessagingCampaigns';
import { DeliveryLogPage, MessageDetailPage, OutboxPage } from './MessagingDelivery';
import { ProvidersPage } from './MessagingProviders';
import { TemplateEditPage, TemplatesPage } from './MessagingTemplates';
import { TriggerEditPage, TriggersPage } from './MessagingTriggers';

export function MessagingRoutes(props: { route: string[]; canWrite: boolean }) {
  const [page, id, sub] = props.route;
  const { canWrite } = props;
  switch (page) {
    case undefined:
    case 'campaigns':
      if (!id) return <CampaignsPage />;
      if (id === 'new') return canWrite ? <CampaignEditPage key="new" id={null} /> : <NoAccess />;
      if (sub === 'edit') return canWrite ? <CampaignEditPage key={id} id={id} /> : <NoAccess />;
      return <CampaignDetailPage key={id} id={id} />;
    case 'templates':
      if (!id) return <TemplatesPage />;
      if (id === 'new' && !canWrite) return <NoAccess />;
      return <TemplateEditPage key={id} templateKey={id === 'new' ? null : id} />;
    case 'triggers':
      if (!id) return <TriggersPage />;
      if (id === 'new' && !canWrite) return <NoAccess />;
      return <TriggerEditPage key={id} triggerKey={id === 'new' ? null : id} />;
    case 'messages':
      return id ? <MessageDetailPage key={id} id={id} /> : <DeliveryLogPage />;
    case 'outbox':
      return <OutboxPage />;
    case 'providers':
      return <ProvidersPage />;
    default:
      return <NotFound />;
  }
}
